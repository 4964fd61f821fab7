import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { STANDBY_MODES } from '../../demo/fleet-files';
import { DEMO_INCIDENT_ID } from '../../demo/follow-incident';
import { renderReport } from '../../demo/report';
import { runScenario, SCENARIOS, scenarioSucceeded, type ScenarioName } from '../../demo/scenarios';
import { processAlive, readStackFile } from '../../stack/stack-file';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig } from '../context';

const USAGE = `runbook demo [${[...SCENARIOS, 'drill'].join('|')}] [--auto-approve] [--standby ${STANDBY_MODES.join('|')}] [--state-dir DIR]`;

function isScenario(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

async function askOnTerminal(question: string, signal: AbortSignal): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`\n${question} [Y/n] `, { signal });
    return !/^\s*n/i.test(answer);
  } finally {
    if (signal.aborted) process.stdout.write('\n(decided elsewhere)\n');
    rl.close();
  }
}

/**
 * `runbook demo`: a loopback fleet behind HAProxy that heals itself. Runs one
 * scenario against the running local stack and prints its report.
 */
export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'self-healing demo: crash, hang, false-alarm, flap, disk-loss or a graded drill on a fleet behind HAProxy',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { ...STACK_FLAGS, 'auto-approve': { type: 'boolean' }, standby: { type: 'string' } }, USAGE);
    const standby = STANDBY_MODES.find((mode) => mode === (values.standby ?? 'hot'));
    if (standby === undefined) throw new CliError(`--standby must be one of ${STANDBY_MODES.join(', ')}, got ${JSON.stringify(values.standby)}`);
    const scenario = positionals[0] ?? 'crash';
    if ((!isScenario(scenario) && scenario !== 'drill') || positionals.length > 1) throw new CliError(`unknown scenario ${JSON.stringify(positionals.join(' '))}\nusage: ${USAGE}`);
    const autoApprove = values['auto-approve'] === true;
    if (!autoApprove && !process.stdin.isTTY) throw new CliError('the demo asks before failing back, but there is no terminal to ask; pass --auto-approve');
    const config = cliConfig(flagsToConfig(values));
    const stateDir = resolve(config.stateDir);
    const stack = readStackFile(stateDir);
    if (!stack?.ready || !processAlive(stack.supervisorPid)) {
      throw new CliError(`no running stack in ${stateDir}; start it with: npm start (or runbook up --detach)`);
    }
    const stateFlag = stateDir === resolve('.runbook') ? '' : ` --state-dir ${stateDir}`;
    const interrupted = new AbortController();
    const onSignal = (): void => interrupted.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const options = {
      config,
      demoDir: join(stateDir, 'demo'),
      autoApprove,
      standby,
      ask: askOnTerminal,
      ...(stack.ports?.api ? { consoleUrl: `http://127.0.0.1:${stack.ports.api}/#/incidents/${encodeURIComponent(DEMO_INCIDENT_ID)}` } : {}),
      log: (line: string) => process.stdout.write(`${line}\n`),
      ...(stack.temporalUiUrl ? { temporalUiUrl: stack.temporalUiUrl } : {}),
      auditCommand: (id: string) => `npx runbook audit ${id}${stateFlag}`,
      signal: interrupted.signal,
    };
    try {
      if (!isScenario(scenario)) {
        const { runDrillDemo } = require('../../demo/drill-demo') as typeof import('../../demo/drill-demo');
        const { renderDrillReportMarkdown } = require('../../audit/render-drill-report') as typeof import('../../audit/render-drill-report');
        const report = await runDrillDemo(options);
        process.stdout.write(`\n${renderDrillReportMarkdown(report)}\n`);
        return report.result === 'passed' ? 0 : 1;
      }
      const result = await runScenario(scenario, options);
      process.stdout.write(`\n${renderReport(result.report)}\n`);
      return scenarioSucceeded(scenario, result) ? 0 : 1;
    } catch (err) {
      throw new CliError(`demo ${scenario} failed: ${(err as Error).message} (logs in ${join(stateDir, 'demo', 'logs')})`, 1);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
