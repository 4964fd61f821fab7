import { fullIncidentId } from '../incidents/incident-ref';
import { CliError } from './context';

/** The incident a command names (full or short form); a missing one is a usage error. */
export function incidentIdArg(arg: string | undefined, usage: string): string {
  if (!arg) throw new CliError(`missing incident id\nusage: ${usage}`);
  return fullIncidentId(arg);
}
