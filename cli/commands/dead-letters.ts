import { deadLetterJson, preview } from '../../intake/dead-letter-json';
import { DeadLetterNotFoundError, getDeadLetter, listDeadLetters, NotReplayableError, replayDeadLetter, type DeadLetter } from '../../intake/dead-letter-store';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, natsConnection } from '../context';
import { formatTable } from '../table';
import { terminalJson, terminalText } from '../../observability/terminal-text';

const USAGE = 'runbook dead-letters [--limit N] [--json] | runbook dead-letters show <id> [--json] | runbook dead-letters replay <id> [--json]';

const OPTIONS = {
  ...STACK_FLAGS,
  limit: { type: 'string', default: '50' },
  json: { type: 'boolean' },
} as const;

const decoder = new TextDecoder('utf-8');

function parseId(raw: string | undefined): number {
  if (raw === undefined || !/^[1-9]\d{0,15}$/.test(raw)) throw new CliError(`expected a dead letter id (its stream sequence, a positive integer), got ${JSON.stringify(raw ?? '')}\nusage: ${USAGE}`);
  return Number(raw);
}

/** Widest each listing column may be; the error column gets more room. */
const COLUMN_WIDTHS = [40, 40, 40, 40, 40, 40, 60, 40];

function table(letters: DeadLetter[]): string {
  if (letters.length === 0) return 'no dead letters\n';
  const rows = letters.map((l) => [String(l.id), l.time, l.reason, l.originalSubject, sizeText(l), l.sha256.slice(0, 12), l.error, preview(l.data, 60)]);
  return formatTable(['ID', 'TIME', 'REASON', 'SUBJECT', 'SIZE', 'SHA256', 'ERROR', 'ORIGINAL'], rows, { maxWidths: COLUMN_WIDTHS });
}

/** The original's size, marked when only part of it was kept. */
function sizeText(l: DeadLetter): string {
  return l.truncated ? `${l.size} TRUNCATED` : String(l.size);
}

function translate(err: unknown): never {
  if (err instanceof DeadLetterNotFoundError) throw new CliError(err.message, 1);
  if (err instanceof NotReplayableError) throw new CliError(err.message, 1);
  throw err;
}

/** `runbook dead-letters`: list, show and replay fault events the intake refused. */
export const deadLettersCommand: CliCommand = {
  name: 'dead-letters',
  summary: 'list, show or replay fault events the intake refused',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, OPTIONS, USAGE);
    const [action, rawId, ...extra] = positionals;
    if (extra.length > 0 || (action !== undefined && action !== 'show' && action !== 'replay')) throw new CliError(`unexpected arguments: ${positionals.join(' ')}\nusage: ${USAGE}`);
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CliError(`--limit ${JSON.stringify(values.limit)}: expected an integer from 1 to 10000`);
    const id = action === undefined ? undefined : parseId(rawId);
    const nc = await natsConnection(cliConfig(flagsToConfig(values)), 'operator');
    try {
      const jsm = await nc.jetstreamManager();
      if (action === 'replay' && id !== undefined) {
        const done = await replayDeadLetter(nc.jetstream(), jsm, id).catch(translate);
        process.stdout.write(values.json ? `${terminalJson(done)}\n` : `replayed dead letter ${done.id} to ${terminalText(done.subject)} (stream ${done.stream} seq ${done.seq}); removed it from the dead letters\n`);
        return 0;
      }
      if (action === 'show' && id !== undefined) {
        const letter = await getDeadLetter(jsm, id).catch(translate);
        const json = deadLetterJson(letter, true);
        if (values.json) process.stdout.write(`${terminalJson(json)}\n`);
        else {
          const lines = [`id:       ${letter.id}`, `time:     ${terminalText(letter.time)}`, `reason:   ${terminalText(letter.reason)}`, `subject:  ${terminalText(letter.originalSubject)}`, `error:    ${terminalText(letter.error)}`, `size:     ${letter.size} bytes`, `sha256:   ${terminalText(letter.sha256)}`];
          if (letter.deliveries !== undefined) lines.push(`delivered: ${letter.deliveries} times`);
          if (letter.truncated) lines.push(`TRUNCATED: only the first ${letter.data.byteLength} of ${letter.size} bytes were kept (${terminalText(letter.truncatedReason ?? 'too big to store whole')}); it cannot be replayed`);
          // The original is shown over as many lines as it has; everything else in it is escaped.
          lines.push(letter.truncated ? 'original (leading bytes only):' : 'original:', terminalText(decoder.decode(letter.data), { multiline: true }));
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return 0;
      }
      const letters = await listDeadLetters(jsm, limit);
      process.stdout.write(values.json ? `${terminalJson(letters.map((l) => deadLetterJson(l, false)))}\n` : table(letters));
      return 0;
    } finally {
      await nc.close();
    }
  },
};
