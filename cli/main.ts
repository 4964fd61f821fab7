import { ConfigError } from '../config/config';
import { PortInUseError } from '../stack/ports';
import { ToolMissingError } from '../stack/toolchain';
import type { CliCommand } from './command';
import { CliError } from './context';
import { terminalText } from './terminal-text';

/** Subcommands, loaded on demand so `runbook status` does not pay for the worker's imports. */
const COMMANDS: Record<string, () => CliCommand> = {
  up: () => (require('./commands/up') as typeof import('./commands/up')).upCommand,
  down: () => (require('./commands/down') as typeof import('./commands/down')).downCommand,
  status: () => (require('./commands/status') as typeof import('./commands/status')).statusCommand,
  fault: () => (require('./commands/fault') as typeof import('./commands/fault')).faultCommand,
  incidents: () => (require('./commands/incidents') as typeof import('./commands/incidents')).incidentsCommand,
  show: () => (require('./commands/show') as typeof import('./commands/show')).showCommand,
  decide: () => (require('./commands/decide') as typeof import('./commands/decide')).decideCommand,
  pause: () => (require('./commands/pause') as typeof import('./commands/pause')).pauseCommand,
  resume: () => (require('./commands/pause') as typeof import('./commands/pause')).resumeCommand,
  validate: () => (require('./commands/validate') as typeof import('./commands/validate')).validateCli,
  approve: () => (require('./commands/approve') as typeof import('./commands/approve')).approveCommand,
  reject: () => (require('./commands/approve') as typeof import('./commands/approve')).rejectCommand,
  audit: () => (require('./commands/audit') as typeof import('./commands/audit')).auditCommand,
  report: () => (require('./commands/report') as typeof import('./commands/report')).reportCommand,
  token: () => (require('./commands/token') as typeof import('./commands/token')).tokenCommand,
  certs: () => (require('./commands/certs') as typeof import('./commands/certs')).certsCommand,
  'dead-letters': () => (require('./commands/dead-letters') as typeof import('./commands/dead-letters')).deadLettersCommand,
  'deploy-secrets': () => (require('./commands/deploy-secrets') as typeof import('./commands/deploy-secrets')).deploySecretsCommand,
  'nats-credentials': () => (require('./commands/nats-credentials') as typeof import('./commands/nats-credentials')).natsCredentialsCommand,
  schedule: () => (require('./commands/schedule') as typeof import('./commands/schedule')).scheduleCommand,
  backups: () => (require('./commands/backups') as typeof import('./commands/backups')).backupsCommand,
  demo: () => (require('./commands/demo') as typeof import('./commands/demo')).demoCommand,
};

/** Adds a subcommand (kept in one place so `runbook help` lists everything). */
export function registerCommand(name: string, load: () => CliCommand): void {
  COMMANDS[name] = load;
}

function help(): string {
  const lines = ['usage: runbook <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(14)} ${load().summary}`);
  lines.push('', 'Run `runbook <command> --help` for its options.');
  return lines.join('\n');
}

/** Entry point of the `runbook` command. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`runbook: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  const command = load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\nusage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliError || err instanceof ConfigError || err instanceof PortInUseError || err instanceof ToolMissingError) {
      // Messages may quote data (a server's error, a dead letter's reason); usage lines stay lines.
      process.stderr.write(`runbook ${name}: ${terminalText(err.message, { multiline: true })}\n`);
      return err instanceof CliError ? err.exitCode : 2;
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
