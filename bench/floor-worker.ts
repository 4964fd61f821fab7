import { resolve } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../config/config';
import { temporalConnectOptions } from '../config/temporal-connection';
import { closeHttpServer, sendJson, startHttpServer } from '../observability/http-server';

/*
 * The floor's worker process for the waiting-incidents benchmark: the same
 * SDK, configuration and production bundle loading as workers/worker.ts, but
 * no activities, clients or NATS; it runs whatever bundle
 * RUNBOOK_WORKFLOW_BUNDLE names (the bench's waiting-floor workflow).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.workflowBundle) throw new Error('floor worker: RUNBOOK_WORKFLOW_BUNDLE is not set');
  const connection = await NativeConnection.connect(await temporalConnectOptions(config));
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath: resolve(config.workflowBundle) },
  });
  const http = await startHttpServer(config.workerMetricsPort, [
    (_req, res, url) => {
      if (url.pathname !== '/healthz') return false;
      const state = worker.getState();
      sendJson(res, state === 'RUNNING' ? 200 : 503, { state });
      return true;
    },
    // The benchmark reads the V8 heap here, as it reads ours from prom-client's gauges, without loading prom-client into the floor.
    (_req, res, url) => {
      if (url.pathname !== '/memory') return false;
      sendJson(res, 200, process.memoryUsage());
      return true;
    },
  ]);
  await worker.run();
  await closeHttpServer(http);
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`floor worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
