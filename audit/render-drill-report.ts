import type { DrillReport } from '../schemas/drill-report';

/*
 * A drill report as Markdown, the evidence an auditor reads: the result,
 * the objectives against what was measured, the timeline, the restore and
 * the incident it exercised. The JSON report is the same data, complete.
 */

/** Text safe inside a Markdown table cell or a line: no pipes, no line breaks, no HTML. */
function cell(s: string): string {
  return s.replace(/\r?\n|\r/g, ' ').replace(/[|<>`]/g, (c) => `\\${c}`);
}

/** A code span; a backtick inside would end it early. */
const code = (s: string): string => `\`${s.replace(/\r?\n|\r/g, ' ').replace(/`/g, "'")}\``;

/** An autolink; characters that would end it are percent-encoded. */
const link = (url: string): string => `<${url.replace(/[\s<>]/g, (c) => encodeURIComponent(c))}>`;

const mark = (pass: boolean): string => (pass ? 'pass' : '**FAIL**');

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

function approvalLine(r: DrillReport): string {
  const a = r.approval;
  if (!a) return 'not approved';
  if ('preApproved' in a) return `pre-approved with schedule ${cell(a.preApproved.scheduleId)} by ${cell(a.preApproved.by)} at ${a.preApproved.at}: ${cell(a.preApproved.reason)}`;
  return `approved by ${cell(a.by)} via ${cell(a.channel)} at ${a.at}: ${cell(a.reason)}`;
}

function measurementLines(r: DrillReport): string[] {
  const m = r.measurements;
  const lines: string[] = [];
  const times: [string, string | undefined][] = [['fault injected', m.faultAt], ['incident opened', m.detectedAt], ['traffic restored', m.trafficRestoredAt], ['incident healed', m.healedAt]];
  for (const [what, at] of times) if (at !== undefined) lines.push(`- ${what}: ${at}`);
  if (m.requestsSent !== undefined) lines.push(`- requests sent: ${m.requestsSent}, failed: ${m.failedRequests ?? '-'}`);
  const c = m.canary;
  if (c) {
    const rec = (x: { seq: number; at: string } | undefined): string => (x ? `#${x.seq} at ${x.at}` : 'none');
    lines.push(
      `- canary: ${c.written} written, ${c.writeFailures} write failures; newest before the fault ${rec(c.newestBeforeFault)}, newest on the serving side ${rec(c.newestOnServing)}` +
        `${c.lost !== undefined ? `; ${c.lost} lost` : ''}`,
    );
  }
  return lines;
}

/** The report as Markdown. */
export function renderDrillReportMarkdown(r: DrillReport): string {
  const lines = [
    `# Drill ${r.result.toUpperCase()}: ${cell(r.runbook.name)} on ${cell(r.service)}/${cell(r.target)}`,
    '',
    `- drill: ${code(r.drillId)}${r.dryRun ? ' (dry run: nothing was changed)' : ''}`,
    `- runbook: ${cell(r.runbook.name)} v${r.runbook.version} (${cell(r.runbook.hash)})`,
    `- ${r.scheduled ? `scheduled by ${cell(r.scheduled.scheduleId)}; ` : ''}${r.requestedBy ? `requested by ${cell(r.requestedBy)}; ` : ''}${approvalLine(r)}`,
    `- ran ${r.startedAt} .. ${r.endedAt}`,
    ...(r.temporalUiUrl ? [`- Temporal: ${link(r.temporalUiUrl)}`] : []),
  ];
  if (r.reasons.length > 0) lines.push('', '## Why', '', ...r.reasons.map((x) => `- ${cell(x)}`));

  lines.push('', '## Objectives', '');
  if (r.grades.length === 0) lines.push('Nothing was graded.');
  else lines.push(...table(['objective', 'target', 'measured', 'result'], r.grades.map((g) => [g.objective, g.target, g.measured, mark(g.pass)])));

  const measured = measurementLines(r);
  if (measured.length > 0) lines.push('', '## Measurements', '', ...measured);

  if (r.timeline.length > 0) lines.push('', '## Timeline', '', ...table(['at', 'what'], r.timeline.map((t) => [t.at, t.what])));

  lines.push('', '## Restore', '', r.restored.ok ? 'The starting state was restored.' : '**The starting state was NOT restored.**');
  if (r.restored.steps.length > 0) {
    lines.push('', ...table(['step', 'status', 'detail'], r.restored.steps.map((s) => [s.id, s.status, s.error ?? s.summary ?? ''])));
  }
  if (r.restored.checks.length > 0) {
    lines.push('', ...table(['check', 'result', 'detail'], r.restored.checks.map((c) => [c.target, c.ok ? 'ok' : 'FAILED', c.detail ?? ''])));
  }

  lines.push('', '## Incident', '');
  const i = r.incident;
  if (!i) lines.push('No incident was opened.');
  else {
    lines.push(
      `- ${code(i.incidentId)} (run ${cell(i.runId)}): ${cell(i.status)}, ${cell(i.outcome)}`,
      `- opened ${i.openedAt}${i.closedAt ? `, closed ${i.closedAt}` : ''}`,
      `- audit record: ${code(i.auditCommand ?? `runbook audit ${i.incidentId}`)}`,
      ...(i.temporalUiUrl ? [`- Temporal: ${link(i.temporalUiUrl)}`] : []),
    );
  }
  return `${lines.join('\n')}\n`;
}
