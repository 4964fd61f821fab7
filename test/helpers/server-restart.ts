import type { ManagedProcess } from '../../stack/managed-process';
import { startNatsServer } from '../../stack/nats-server';
import { startTemporalServer } from '../../stack/temporal-server';
import type { TestStack } from './stack';

type ServerName = 'temporal' | 'nats';

function serverProcess(stack: TestStack, name: ServerName): { proc: ManagedProcess; index: number } {
  const index = stack.stack.processes.findIndex((p) => p.name === name);
  const proc = stack.stack.processes[index];
  if (!proc) throw new Error(`the test stack runs no ${name} server`);
  return { proc, index };
}

/** Stops one server of a test stack; everything else keeps running. */
export async function stopServer(stack: TestStack, name: ServerName): Promise<void> {
  await serverProcess(stack, name).proc.stop();
}

/**
 * Starts a stopped server again on the same port and state, and puts the new
 * process where the old one was, so `stack.stop()` stops it.
 */
export async function startServerAgain(stack: TestStack, name: ServerName): Promise<void> {
  const { index } = serverProcess(stack, name);
  const { config } = stack;
  const proc =
    name === 'temporal'
      ? await startTemporalServer({ stateDir: config.stateDir, port: config.temporalPort, uiPort: config.temporalUiPort, namespace: config.namespace, headless: true })
      : await startNatsServer({ stateDir: config.stateDir, port: config.natsPort, monitorPort: config.natsMonitorPort });
  stack.stack.processes[index] = proc;
}
