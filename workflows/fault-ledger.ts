import type { FaultEvent, Severity } from '../schemas/fault-event';
import type { FaultsAbsorbed } from '../schemas/incident-state';

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const RECENT_IDS = 50;

/** The ledger of faults an incident has absorbed, starting from its first event. */
export function openLedger(first: FaultEvent): FaultsAbsorbed {
  return {
    count: 1,
    firstEventId: first.id,
    lastEventId: first.id,
    firstSeen: first.observedAt,
    lastSeen: first.observedAt,
    severity: first.severity,
    recentEventIds: [first.id],
    resolvedSignals: 0,
  };
}

/**
 * Absorbs a repeat fault. Returns false for an event id already absorbed: the
 * intake may deliver an event twice after a crash, and it must count once.
 */
export function absorbFault(ledger: FaultsAbsorbed, event: FaultEvent, seen: Set<string>): boolean {
  if (seen.has(event.id)) return false;
  seen.add(event.id);
  if (event.status === 'resolved') {
    ledger.resolvedSignals += 1;
    return true;
  }
  ledger.count += 1;
  ledger.lastEventId = event.id;
  if (event.observedAt > ledger.lastSeen) ledger.lastSeen = event.observedAt;
  if (SEVERITY_RANK[event.severity] > SEVERITY_RANK[ledger.severity]) ledger.severity = event.severity;
  ledger.recentEventIds.push(event.id);
  if (ledger.recentEventIds.length > RECENT_IDS) ledger.recentEventIds.shift();
  return true;
}
