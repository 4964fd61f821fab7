import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { FaultEvent } from '../schemas/fault-event';
import { incidentIdFor, type IncidentId } from '../schemas/identifiers';
import { SA } from '../schemas/search-attributes';
import type { IncidentInput, RunbookSnapshot } from '../schemas/incident-input';
import { faultObserved, faultResolved, faultsObserved } from '../workflows/messages';
import { absorbedByClosedRuns } from './absorbed-before';
import { signalWithStart } from './signal-with-start';

/** What became of an event handed to Temporal. */
export type HandoffOutcome = 'started' | 'coalesced' | 'resolved' | 'resolved_no_incident' | 'duplicate';

/** What the handoff reports once Temporal accepted an event. */
export interface HandoffResult {
  outcome: HandoffOutcome;
  incidentId: IncidentId;
  runId?: string;
}

/** Where incidents run. */
export interface HandoffTarget {
  client: Client;
  taskQueue: string;
  /**
   * Longest one handoff may take, client retries included, before it counts
   * as failed and the message goes back to JetStream.
   * @default 10 s
   */
  timeoutMs?: number;
  /** Quiet period of incidents started without a runbook (workflow input `quietPeriod`); the workflow's default when unset. */
  quietPeriod?: string;
}

/** @default see {@link HandoffTarget.timeoutMs} */
export const DEFAULT_HANDOFF_TIMEOUT_MS = 10_000;

/** Times a redelivered event's incident may be found open and then closed before the hand-off gives up (and the message is nacked). */
const MAX_LOOKS = 3;

/** Search attributes an incident starts with. */
export function initialSearchAttributes(event: FaultEvent, runbook: RunbookSnapshot | undefined): SearchAttributePair[] {
  return [
    { key: SA.service, value: event.service },
    { key: SA.target, value: event.target },
    { key: SA.faultKind, value: event.kind },
    { key: SA.severity, value: event.severity },
    { key: SA.runbook, value: runbook?.name ?? 'none' },
    { key: SA.incidentStatus, value: 'confirming' },
  ];
}

/**
 * Hands events to Temporal. A firing event is a signal-with-start on the
 * incident id derived from (service, target): the server atomically signals the
 * open incident or starts a new one, so racing intakes cannot open two.
 */
export class Handoff {
  private readonly timeoutMs: number;

  constructor(private readonly target: HandoffTarget) {
    this.timeoutMs = target.timeoutMs ?? DEFAULT_HANDOFF_TIMEOUT_MS;
  }

  /**
   * Delivers events of one target together: a resolved event on its own, or
   * firing events in publication order as one signal-with-start whose start
   * input is the first of them. Resolves once Temporal accepted all of them;
   * rejects when it did not in time.
   */
  async deliverAll(events: readonly FaultEvent[], runbook: RunbookSnapshot | undefined, dryRun: boolean): Promise<HandoffResult> {
    const first = events[0];
    if (!first) throw new RangeError('deliverAll needs at least one event');
    if (events.length > 1 && events.some((e) => e.status !== 'firing' || incidentIdFor(e.service, e.target) !== incidentIdFor(first.service, first.target))) {
      throw new RangeError('events delivered together must all be firing and for one target');
    }
    const { client } = this.target;
    return client.withDeadline(Date.now() + this.timeoutMs, () => this.deliverNow(events, runbook, dryRun));
  }

  /**
   * For events that may have been handed on before (JetStream delivered them
   * again, or an earlier attempt timed out after the server may have taken
   * them): those a closed run already absorbed are left out (all of them:
   * outcome `duplicate`); the rest go to the open run by its run id, so a run
   * that closes meanwhile is looked at again rather than replaced by a new
   * one, or are signalled-with-start when no run is open.
   */
  async deliverRedelivered(events: readonly FaultEvent[], publishedAt: Date, runbook: RunbookSnapshot | undefined, dryRun: boolean): Promise<HandoffResult> {
    const first = events[0];
    if (!first) throw new RangeError('deliverRedelivered needs at least one event');
    if (first.status !== 'firing') return this.deliverAll(events, runbook, dryRun);
    const incidentId = incidentIdFor(first.service, first.target);
    const { client } = this.target;
    return client.withDeadline(Date.now() + this.timeoutMs, async () => {
      for (let look = 0; look < MAX_LOOKS; look++) {
        let current: { runId: string; open: boolean };
        try {
          const desc = await client.workflow.getHandle(incidentId).describe();
          current = { runId: desc.runId, open: desc.status.name === 'RUNNING' };
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return this.deliverNow(events, runbook, dryRun);
          throw err;
        }
        const absorbed = await absorbedByClosedRuns(client, incidentId, events.map((e) => e.id), publishedAt, current);
        const rest = events.filter((e) => !absorbed.ids.has(e.id));
        if (rest.length === 0) return { outcome: 'duplicate' as const, incidentId, ...(absorbed.runId !== undefined ? { runId: absorbed.runId } : {}) };
        if (!current.open) return this.deliverNow(rest, runbook, dryRun);
        try {
          const handle = client.workflow.getHandle(incidentId, current.runId);
          if (rest.length === 1) await handle.signal(faultObserved, rest[0] as FaultEvent);
          else await handle.signal(faultsObserved, [...rest]);
          return { outcome: 'coalesced' as const, incidentId, runId: current.runId };
        } catch (err) {
          // The run closed after describe saw it open: its ledger is final now, so look again.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
      throw new Error(`${incidentId} closed ${MAX_LOOKS} times while events that may have been handed on before were checked`);
    });
  }

  private async deliverNow(events: readonly FaultEvent[], runbook: RunbookSnapshot | undefined, dryRun: boolean): Promise<HandoffResult> {
    const event = events[0] as FaultEvent;
    const incidentId = incidentIdFor(event.service, event.target);
    const { client } = this.target;
    if (event.status === 'resolved') {
      try {
        await client.workflow.getHandle(incidentId).signal(faultResolved, event);
        return { outcome: 'resolved', incidentId };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { outcome: 'resolved_no_incident', incidentId };
        throw err;
      }
    }
    const input: IncidentInput = { incidentId, fault: event, ...(runbook ? { runbook } : this.target.quietPeriod ? { quietPeriod: this.target.quietPeriod } : {}), dryRun: dryRun || event.dryRun === true || runbook?.definition.settings?.dry_run === true };
    // One event keeps the single-event signal, so an incident sees exactly what it saw before batching existed.
    const single = events.length === 1;
    const answer = await signalWithStart(client, {
      workflowType: 'incident',
      workflowId: incidentId,
      taskQueue: this.target.taskQueue,
      args: [input],
      signalName: single ? faultObserved.name : faultsObserved.name,
      signalArgs: single ? [event] : [[...events]],
      typedSearchAttributes: initialSearchAttributes(event, runbook),
    });
    return { outcome: answer.started ? 'started' : 'coalesced', incidentId, runId: answer.runId };
  }
}
