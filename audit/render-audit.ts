import type { AuditRecord } from './audit-record';

function ms(v: number | null): string {
  if (v === null) return '-';
  return v < 10_000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`;
}

/** The audit record as readable text, one section per part of the record. */
export function renderAuditText(r: AuditRecord): string {
  const lines = [
    `audit of ${r.incidentId} (run ${r.runId})`,
    `  status     ${r.status}${r.outcome ? ` (${r.outcome})` : ''}${r.dryRun ? '  [dry run]' : ''}`,
    `  fault      ${r.kind} on ${r.service}/${r.target}, severity ${r.faults.severity}`,
    `  opened     ${r.openedAt}${r.closedAt ? `, closed ${r.closedAt}` : ''}`,
    ...(r.source === 'audit-stream' ? ['  source     audit stream only (Temporal no longer keeps this workflow)'] : []),
    '',
    `faults absorbed: ${r.faults.count} (first ${r.faults.firstSeen}, last ${r.faults.lastSeen}, ${r.faults.resolvedSignals} resolved)`,
    ...r.faults.eventIds.map((id) => `  ${id}`),
    '',
    `routing: ${r.routing ? `${r.routing.runbook} v${r.routing.version} sha256 ${r.routing.hash}` : 'no runbook matched'}`,
    ...(r.drill ? [`drill: provoked by ${r.drill.drillId} (marked ${r.drill.markedAt}); runbook drills show ${r.drill.drillId}`] : []),
  ];
  if (r.steps.length > 0) lines.push('', 'steps:');
  for (const s of r.steps) {
    lines.push(`  ${s.id} (${s.kind}): ${s.status}${s.durationMs !== undefined ? ` in ${ms(s.durationMs)}` : ''}${s.skipReason ? ` — ${s.skipReason}` : ''}`);
    if (s.input !== null && s.input !== undefined) lines.push(`    input   ${JSON.stringify(s.input)}`);
    for (const a of s.attempts) lines.push(`    attempt ${a.attempt} at ${a.startedAt}, ${ms(a.durationMs)}: ${a.ok ? 'ok' : `${a.errorType ?? 'error'}: ${a.error ?? ''}`}`);
    if (s.error) lines.push(`    error   ${s.error}`);
    if (s.output) lines.push(`    output  ${JSON.stringify(s.output)}`);
  }
  if (r.requests.length > 0) lines.push('', 'approvals and escalations:');
  for (const q of r.requests) {
    lines.push(`  ${q.type} ${q.requestId} for ${q.step}, asked ${q.approvers.join(', ') || '-'} at ${q.requestedAt}: ${q.outcome ?? 'waiting'}${q.decidedAt ? ` at ${q.decidedAt}` : ''}`);
    lines.push(`    why: ${q.reason}`);
    for (const d of q.decisions) {
      lines.push(`    ${d.accepted ? 'ACCEPTED' : 'REFUSED '} ${d.verdict} by ${d.by} via ${d.channel} at ${d.at}: ${d.reason}${d.note ? ` [${d.note}]` : ''}`);
    }
  }
  if (r.compensations.length > 0) {
    lines.push('', 'compensations:', ...r.compensations.map((c) => `  for ${c.forStep} (${c.kind}) at ${c.at}: ${c.ok ? `ok${c.summary ? ` ${c.summary}` : ''}` : `failed: ${c.error ?? ''}`}`));
  }
  lines.push(
    '',
    'timings from open:',
    `  confirm ${ms(r.timings.toConfirmMs)}, isolate ${ms(r.timings.toIsolateMs)}, restore traffic ${ms(r.timings.toRestoreTrafficMs)}, recover ${ms(r.timings.toRecoverMs)}`,
    '',
    `outcome: ${r.status}${r.outcome ? ` (${r.outcome})` : ''}`,
  );
  return lines.join('\n');
}
