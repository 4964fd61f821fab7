import { CliError } from './cli-error';
import type { CliCommand } from './command';
import { terminalText } from '../observability/terminal-text';

/** A subcommand as `runbook help` lists it; its module is loaded only when it runs. */
export interface CommandEntry {
  /** The same line as the command's own `summary` (a unit test holds them together). */
  summary: string;
  load: () => CliCommand;
}

/**
 * Subcommands, loaded on demand: `runbook help` loads none of them and
 * `runbook status` does not pay for the worker's or the demo's imports.
 */
export const COMMANDS: Record<string, CommandEntry> = {
  up: { summary: 'start Temporal, NATS, the worker and the intake locally (--cluster: on PostgreSQL, two of each)', load: () => (require('./commands/up') as typeof import('./commands/up')).upCommand },
  down: { summary: 'stop the local stack (its state is kept)', load: () => (require('./commands/down') as typeof import('./commands/down')).downCommand },
  status: { summary: 'health of each component of the local stack', load: () => (require('./commands/status') as typeof import('./commands/status')).statusCommand },
  fault: { summary: 'publish a fault event (as a monitor would)', load: () => (require('./commands/fault') as typeof import('./commands/fault')).faultCommand },
  incidents: { summary: 'list incidents (filter by service, target, status, time)', load: () => (require('./commands/incidents') as typeof import('./commands/incidents')).incidentsCommand },
  show: { summary: 'state of one incident: faults, steps, attempts, errors', load: () => (require('./commands/show') as typeof import('./commands/show')).showCommand },
  decide: { summary: 'answer an escalated incident: retry the failed step, skip it, or abort (through the approval API)', load: () => (require('./commands/decide') as typeof import('./commands/decide')).decideCommand },
  pause: { summary: 'pause all remediation (running steps finish; new ones wait)', load: () => (require('./commands/pause') as typeof import('./commands/pause')).pauseCommand },
  resume: { summary: 'resume remediation after runbook pause', load: () => (require('./commands/pause') as typeof import('./commands/pause')).resumeCommand },
  validate: { summary: 'check runbook files: schema, fencing, templates', load: () => (require('./commands/validate') as typeof import('./commands/validate')).validateCli },
  approve: { summary: 'approve the step waiting for approval (through the approval API)', load: () => (require('./commands/approve') as typeof import('./commands/approve')).approveCommand },
  reject: { summary: 'reject the step waiting for approval: the incident aborts and compensates', load: () => (require('./commands/approve') as typeof import('./commands/approve')).rejectCommand },
  audit: { summary: 'audit record of one incident: faults, routing, steps, approvals, compensations, timings', load: () => (require('./commands/audit') as typeof import('./commands/audit')).auditCommand },
  report: { summary: 'availability report from the audit stream: outcomes, MTTR, MTBF, availability, objectives', load: () => (require('./commands/report') as typeof import('./commands/report')).reportCommand },
  drills: { summary: 'past drills from the audit stream: list them with the RTO/RPO trend per runbook, or show one report', load: () => (require('./commands/drills') as typeof import('./commands/drills')).drillsCommand },
  token: { summary: 'create an approval API token for an identity (printed once; only its hash is stored)', load: () => (require('./commands/token') as typeof import('./commands/token')).tokenCommand },
  certs: { summary: 'make the CA, Temporal/NATS server and client certificates for docker-compose (keeps existing files)', load: () => (require('./commands/certs') as typeof import('./commands/certs')).certsCommand },
  'dead-letters': { summary: 'list, show or replay fault events the intake refused', load: () => (require('./commands/dead-letters') as typeof import('./commands/dead-letters')).deadLettersCommand },
  'deploy-secrets': { summary: 'make the certificates, NATS passwords, decision key and webhook token docker-compose needs (keeps existing files)', load: () => (require('./commands/deploy-secrets') as typeof import('./commands/deploy-secrets')).deploySecretsCommand },
  'nats-credentials': { summary: 'generate the NATS password per role and the server auth config (bcrypt hashes) for deployment', load: () => (require('./commands/nats-credentials') as typeof import('./commands/nats-credentials')).natsCredentialsCommand },
  schedule: { summary: 'list, show, pause, unpause, trigger or delete runbook schedules', load: () => (require('./commands/schedule') as typeof import('./commands/schedule')).scheduleCommand },
  drill: { summary: 'rehearse a runbook: inject its fault, let the incident heal it, measure RTO/RPO, restore, grade', load: () => (require('./commands/drill') as typeof import('./commands/drill')).drillCommand },
  backups: { summary: 'list backup snapshots (size, age, verification) or verify them by a restore into scratch', load: () => (require('./commands/backups') as typeof import('./commands/backups')).backupsCommand },
  demo: { summary: 'self-healing demo: crash, hang, false-alarm, flap, disk-loss or a graded drill on a fleet behind HAProxy', load: () => (require('./commands/demo') as typeof import('./commands/demo')).demoCommand },
};

/** Adds a subcommand (kept in one place so `runbook help` lists everything). */
export function registerCommand(name: string, entry: CommandEntry): void {
  COMMANDS[name] = entry;
}

function help(): string {
  const lines = ['usage: runbook <command> [options]', '', 'commands:'];
  for (const [name, entry] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(14)} ${entry.summary}`);
  lines.push('', 'Run `runbook <command> --help` for its options.');
  return lines.join('\n');
}

/**
 * The message and exit code of an error that is the user's to fix, or
 * undefined for a bug. The error classes are required here, not imported, so
 * a command that never fails does not load the configuration schema; a module
 * that threw one of them is loaded already.
 */
function userError(err: unknown): { message: string; exitCode: number } | undefined {
  const { ConfigError } = require('../config/config') as typeof import('../config/config');
  const { PortInUseError } = require('../stack/ports') as typeof import('../stack/ports');
  const { ToolMissingError } = require('../stack/toolchain') as typeof import('../stack/toolchain');
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof ConfigError || err instanceof PortInUseError || err instanceof ToolMissingError) return { message: err.message, exitCode: 2 };
  return undefined;
}

/** Entry point of the `runbook` command. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`runbook: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  const command = entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\nusage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const usage = userError(err);
    if (usage) {
      // Messages may quote data (a server's error, a dead letter's reason); usage lines stay lines.
      process.stderr.write(`runbook ${name}: ${terminalText(usage.message, { multiline: true })}\n`);
      return usage.exitCode;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`runbook: ${terminalText(err instanceof Error ? (err.stack ?? err.message) : String(err), { multiline: true })}\n`);
      process.exitCode = 1;
    },
  );
}
