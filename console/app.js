'use strict';
/*
 * The on-call console: a page served by the approval API that uses the
 * API's own JSON routes with a session cookie. Every value from the server
 * reaches the page as text (the h() helper never parses HTML), and every
 * unsafe request carries the session's CSRF token.
 */

const state = { identity: '', csrf: '', temporalUiUrl: '', namespace: 'default', control: undefined, stream: undefined };

/** An element with attributes and children; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === false || v === null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const main = () => document.getElementById('main');

function show(...nodes) {
  const m = main();
  m.replaceChildren(...nodes);
}

/** Moves focus to the new view's heading, so keyboard and screen-reader users land on what changed. */
function focusHeading() {
  const heading = main().querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

async function api(method, path, body, extraHeaders) {
  const headers = { accept: 'application/json', ...(extraHeaders ?? {}) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['x-csrf-token'] = state.csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  let json;
  try {
    json = await res.json();
  } catch {
    json = {};
  }
  if (res.status === 401 && !path.startsWith('/console/session')) signedOut('Your session ended; sign in again.');
  return { status: res.status, ok: res.ok, json };
}

const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : '—');
const incidentHash = (id) => `#/incidents/${encodeURIComponent(id)}`;
const incidentPath = (id) => `/incidents/${encodeURIComponent(id)}`;

function closeStream() {
  if (state.stream) state.stream.close();
  state.stream = undefined;
}

/** How long a refused live stream (an incident not open yet, a restarting API) waits before asking again. */
const STREAM_RETRY_MS = 3000;

/**
 * Opens the live event stream; `handlers` maps event names to callbacks.
 * EventSource retries a dropped connection itself but gives up on an
 * answer that is not a stream (404 for an incident not opened yet, 503 when
 * too many are open), so that case is retried here, and `onRefused` can say so.
 */
function stream(query, handlers, onRefused) {
  closeStream();
  const es = new EventSource(`/events${query ? `?${query}` : ''}`);
  for (const [name, fn] of Object.entries(handlers)) es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  es.addEventListener('control', (e) => renderControl(JSON.parse(e.data)));
  es.addEventListener('error', () => {
    if (es.readyState !== EventSource.CLOSED || state.stream !== es) return;
    if (onRefused) onRefused();
    setTimeout(() => {
      if (state.stream === es) stream(query, handlers, onRefused);
    }, STREAM_RETRY_MS);
  });
  state.stream = es;
}

// ---- sign-in -------------------------------------------------------------

function signedOut(message) {
  closeStream();
  state.identity = '';
  state.csrf = '';
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  document.getElementById('banner').replaceChildren();
  const error = h('p', { class: 'error', id: 'sign-in-error', role: 'alert' }, message ?? '');
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const form = h('form', {
    id: 'sign-in',
    onsubmit: async (e) => {
      e.preventDefault();
      const token = input.value.trim();
      const res = await api('POST', '/console/session', undefined, { authorization: `Bearer ${token}` });
      input.value = '';
      if (!res.ok) {
        error.textContent = res.json.error ?? `sign-in refused (${res.status})`;
        input.focus();
        return;
      }
      signedIn(res.json);
    },
  },
  h('label', { for: 'token' }, 'API token'),
  input,
  h('p', { id: 'token-help', class: 'help' }, 'A token from runbook token create. It is checked by the API and not stored by this page; the session lasts 12 hours or until you sign out.'),
  error,
  h('button', { type: 'submit' }, 'Sign in'));
  show(h('h1', {}, 'Sign in'), form);
  input.focus();
}

function signedIn(session) {
  state.identity = session.identity;
  state.csrf = session.csrfToken;
  state.temporalUiUrl = session.temporalUiUrl ?? '';
  state.namespace = session.namespace ?? 'default';
  document.getElementById('identity').textContent = `Signed in as ${session.identity}`;
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  if (!location.hash || location.hash === '#/') location.hash = '#/incidents';
  else route();
}

// ---- pause / resume --------------------------------------------------------

function renderControl(control) {
  state.control = control;
  const banner = document.getElementById('banner');
  const toggle = document.getElementById('pause-toggle');
  toggle.textContent = control.paused ? 'Resume remediation' : 'Pause remediation';
  if (control.paused) {
    banner.replaceChildren(h('p', { class: 'paused' }, h('strong', {}, 'Remediation is paused'), ` by ${control.by ?? 'someone'} at ${when(control.at)}: ${control.reason ?? ''}`));
  } else {
    banner.replaceChildren();
  }
}

function openPauseDialog() {
  const paused = state.control?.paused === true;
  const dialog = document.getElementById('pause-dialog');
  document.getElementById('pause-title').textContent = paused ? 'Resume all remediation' : 'Pause all remediation';
  document.getElementById('pause-explain').textContent = paused
    ? 'Steps waiting because of the pause start again. Everyone sees the reason.'
    : 'Running steps finish; no new remediation step starts anywhere until someone resumes. Everyone sees the reason.';
  document.getElementById('pause-confirm').textContent = paused ? 'Resume' : 'Pause';
  document.getElementById('pause-error').textContent = '';
  document.getElementById('pause-reason').value = '';
  dialog.showModal();
  document.getElementById('pause-reason').focus();
}

async function confirmPause(e) {
  e.preventDefault();
  const reason = document.getElementById('pause-reason').value.trim();
  const error = document.getElementById('pause-error');
  if (!reason) {
    error.textContent = 'A reason is required.';
    return;
  }
  const paused = state.control?.paused === true;
  const res = await api('POST', paused ? '/control/resume' : '/control/pause', { reason });
  if (!res.ok) {
    error.textContent = res.json.error ?? `refused (${res.status})`;
    return;
  }
  renderControl(res.json);
  document.getElementById('pause-dialog').close();
  document.getElementById('pause-toggle').focus();
}

// ---- incidents -----------------------------------------------------------

const STATUSES = ['', 'confirming', 'remediating', 'awaiting_approval', 'escalated', 'resolved', 'false_alarm', 'failed', 'aborted', 'unresolved'];

function incidentsView(params) {
  const filters = h('form', {
    class: 'filters',
    'aria-label': 'Filter incidents',
    onsubmit: (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      for (const el of filters.elements) {
        if (!el.name) continue;
        if (el.type === 'checkbox') {
          if (el.checked) q.set(el.name, 'true');
        } else if (el.value) q.set(el.name, el.value);
      }
      location.hash = `#/incidents?${q}`;
    },
  },
  h('label', { for: 'f-service' }, 'Service'), h('input', { id: 'f-service', name: 'service', value: params.get('service') ?? '' }),
  h('label', { for: 'f-status' }, 'Status'),
  h('select', { id: 'f-status', name: 'status' }, STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s || 'any'))),
  h('label', { for: 'f-since' }, 'Since'),
  h('select', { id: 'f-since', name: 'since' }, [['', 'any time'], ['1h', 'last hour'], ['24h', 'last day'], ['7d', 'last week'], ['30d', 'last 30 days']].map(([v, t]) => h('option', { value: v, selected: (params.get('since') ?? '') === v }, t))),
  h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'open', checked: params.get('open') === 'true' }), ' open only'),
  h('button', { type: 'submit' }, 'Apply'));
  const count = h('p', { id: 'incident-count', 'aria-live': 'polite' }, 'Waiting for the first update…');
  const body = h('tbody', { id: 'incident-rows' });
  const table = h('table', { id: 'incidents' },
    h('caption', {}, 'Incidents, open ones first, then newest'),
    h('thead', {}, h('tr', {}, ['Incident', 'Status', 'Service', 'Target', 'Fault', 'Runbook', 'Started', 'Closed'].map((t) => h('th', { scope: 'col' }, t)))),
    body);
  show(h('h1', {}, 'Incidents'), filters, count, table);
  focusHeading();
  stream(params.toString(), {
    incidents: ({ incidents }) => {
      const sorted = [...incidents].sort((a, b) => (a.closeTime ? 1 : 0) - (b.closeTime ? 1 : 0) || b.startTime.localeCompare(a.startTime));
      body.replaceChildren(...sorted.map((i) => h('tr', { 'data-incident': i.incidentId },
        h('td', {}, h('a', { href: incidentHash(i.incidentId) }, i.incidentId)),
        h('td', {}, h('span', { class: `status s-${i.incidentStatus ?? i.workflowStatus}` }, i.incidentStatus ?? i.workflowStatus.toLowerCase())),
        h('td', {}, i.service ?? ''), h('td', {}, i.target ?? ''), h('td', {}, i.faultKind ?? ''), h('td', {}, i.runbook ?? ''),
        h('td', {}, when(i.startTime)), h('td', {}, when(i.closeTime)))));
      const open = sorted.filter((i) => !i.closeTime).length;
      count.textContent = `${sorted.length} incident${sorted.length === 1 ? '' : 's'}, ${open} open`;
    },
  });
}

function dl(pairs) {
  return h('dl', {}, pairs.filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function incidentView(id) {
  const live = h('div', { id: 'incident' }, h('p', {}, 'Loading…'));
  show(h('h1', {}, id), live);
  focusHeading();
  const drafts = { reasons: {}, results: {} };
  stream(`incident=${encodeURIComponent(id)}`, {
    incident: (s) => {
      // A live update must not lose what the person is doing: the reason being typed, the answer shown, and where the focus is.
      for (const ta of live.querySelectorAll('textarea[data-request]')) drafts.reasons[ta.dataset.request] = ta.value;
      const focused = document.activeElement && live.contains(document.activeElement) ? document.activeElement.id : '';
      const selection = focused && document.activeElement.selectionStart !== undefined ? [document.activeElement.selectionStart, document.activeElement.selectionEnd] : undefined;
      live.replaceChildren(...renderIncident(id, s, drafts));
      const again = focused ? document.getElementById(focused) : null;
      if (again) {
        again.focus();
        if (selection && again.setSelectionRange) again.setSelectionRange(selection[0], selection[1]);
      }
    },
  }, () => {
    if (!live.querySelector('dl')) live.replaceChildren(h('p', { id: 'not-yet' }, `No incident ${id} yet; this page shows it as soon as it opens.`));
  });
}

function renderIncident(id, s, drafts) {
  const uiLink = state.temporalUiUrl ? `${state.temporalUiUrl}/namespaces/${encodeURIComponent(state.namespace)}/workflows/${encodeURIComponent(id)}` : '';
  const out = [];
  out.push(dl([
    ['Status', h('span', { class: `status s-${s.status}`, id: 'incident-status' }, s.status)],
    ['Outcome', s.outcome ? h('span', { id: 'incident-outcome' }, s.outcome) : undefined],
    ['Service', s.service], ['Target', s.target], ['Fault kind', s.kind],
    ['Runbook', s.runbook ? `${s.runbook.name} version ${s.runbook.version}` : 'none'],
    ['Fencing epoch', String(s.epoch)],
    ['Dry run', s.dryRun ? 'yes' : 'no'],
    ['Opened', when(s.openedAt)], ['Closed', when(s.closedAt)],
    ['Current step', s.currentStep],
    ['Paused', s.pausedSince ? `since ${when(s.pausedSince)}: ${s.pausedReason ?? ''}` : undefined],
    ['Last error', s.lastError],
    ['Drill', s.drill ? s.drill.drillId : undefined],
  ]));
  out.push(h('p', { class: 'links' },
    h('a', { href: `${incidentHash(id)}/audit` }, 'Audit record'), ' · ',
    h('a', { href: `${incidentPath(id)}/audit`, download: `${id.replaceAll('/', '_')}.audit.json` }, 'Download audit JSON'),
    uiLink ? [' · ', h('a', { href: uiLink, rel: 'noreferrer' }, 'Open in the Temporal UI')] : []));
  out.push(...renderRequests(id, s, drafts));
  out.push(h('h2', {}, 'Fault'));
  const f = s.faults ?? {};
  out.push(dl([['Faults absorbed', String(f.count ?? 1)], ['First seen', when(f.firstSeen)], ['Last seen', when(f.lastSeen)], ['Severity', f.severity], ['Recent event ids', (f.recentEventIds ?? []).join(', ')]]));
  out.push(h('pre', { class: 'json', tabindex: '0', 'aria-label': 'First fault event' }, JSON.stringify(s.firstFault, null, 2)));
  out.push(h('h2', {}, 'Steps'));
  out.push(h('table', { id: 'steps' },
    h('thead', {}, h('tr', {}, ['Step', 'Kind', 'Status', 'Attempts', 'Duration', 'Error', 'Output'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, (s.steps ?? []).map((st) => h('tr', { 'data-step': st.id },
      h('th', { scope: 'row' }, st.name ? `${st.id} (${st.name})` : st.id),
      h('td', {}, st.kind), h('td', {}, h('span', { class: `status s-${st.status}` }, st.status)),
      h('td', {}, st.attempts.length ? h('ol', {}, st.attempts.map((a) => h('li', {}, `${a.ok ? 'ok' : 'failed'} at ${when(a.startedAt)}${a.error ? `: ${a.error}` : ''}`))) : '—'),
      h('td', {}, st.durationMs !== undefined ? `${(st.durationMs / 1000).toFixed(1)} s` : '—'),
      h('td', {}, st.lastError ?? st.skipReason ?? ''),
      h('td', {}, st.output ? h('pre', { class: 'json', tabindex: '0', 'aria-label': `Output of ${st.id}` }, JSON.stringify(st.output, null, 2)) : (st.summary ?? '')))))));
  if ((s.compensations ?? []).length > 0) {
    out.push(h('h2', {}, 'Compensations'));
    out.push(h('ul', {}, s.compensations.map((c) => h('li', {}, `${when(c.at)} ${c.kind} for ${c.forStep}: ${c.ok ? 'ok' : `failed${c.error ? ` (${c.error})` : ''}`}${c.summary ? ` — ${c.summary}` : ''}`))));
  }
  out.push(h('h2', {}, 'Timeline'));
  const events = [];
  events.push([s.openedAt, 'incident opened']);
  for (const st of s.steps ?? []) for (const a of st.attempts) events.push([a.startedAt, `${st.id}: attempt ${a.attempt} ${a.ok ? 'succeeded' : `failed${a.error ? ` (${a.error})` : ''}`}`]);
  for (const r of s.requests ?? []) {
    events.push([r.requestedAt, `${r.type} requested for ${r.step}: ${r.reason}`]);
    for (const d of r.decisions) events.push([d.at, `${d.verdict} by ${d.by} via ${d.channel}${d.accepted ? '' : ' (refused)'}: ${d.reason}`]);
  }
  for (const c of s.compensations ?? []) events.push([c.at, `compensation ${c.kind} for ${c.forStep}`]);
  if (s.closedAt) events.push([s.closedAt, `incident closed: ${s.status}`]);
  events.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  out.push(h('ol', { class: 'timeline' }, events.map(([at, what]) => h('li', {}, h('time', { datetime: at }, when(at)), ' ', what))));
  return out;
}

function renderRequests(id, s, drafts) {
  const requests = s.requests ?? [];
  if (requests.length === 0) return [];
  const out = [h('h2', {}, 'Requests for a human')];
  for (const r of requests) {
    const open = r.outcome === undefined;
    const section = h('section', { class: open ? 'request open' : 'request', 'aria-labelledby': `rq-${r.requestId}` },
      h('h3', { id: `rq-${r.requestId}` }, `${r.type === 'escalation' ? 'Escalation' : 'Approval'} for ${r.step}${open ? ' — waiting' : ` — ${r.outcome}`}`),
      dl([
        ['Reason', r.reason],
        ['Requested', when(r.requestedAt)],
        ['Who may decide', r.approvers?.length ? `${r.approvers.join(', ')}${r.eligible ? ` (${r.eligible.join(', ') || 'no members'})` : ''}` : 'anyone with a token (no roster)'],
        ['Approvals needed', r.minApprovals !== undefined ? String(r.minApprovals) : undefined],
        ['Times out', r.timeoutAt ? `${when(r.timeoutAt)}; the runbook's on_timeout then applies` : undefined],
        ['Decided', r.decidedAt ? when(r.decidedAt) : undefined],
      ]));
    if (r.decisions.length > 0) {
      section.append(h('table', { class: 'decisions' },
        h('caption', {}, 'Decisions'),
        h('thead', {}, h('tr', {}, ['Who', 'When', 'Verdict', 'Channel', 'Why', 'Counted'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.decisions.map((d) => h('tr', {}, h('td', {}, d.by), h('td', {}, when(d.at)), h('td', {}, d.verdict), h('td', {}, d.channel), h('td', {}, d.reason), h('td', {}, d.accepted ? 'yes' : `no${d.note ? `: ${d.note}` : ''}`))))));
    }
    if (open) section.append(decisionForm(id, r, drafts));
    out.push(section);
  }
  return out;
}

function decisionForm(id, r, drafts) {
  const verdicts = r.type === 'escalation' ? ['retry', 'skip', 'abort'] : ['approve', 'reject'];
  const fieldId = `reason-${r.requestId}`;
  const reason = h('textarea', { id: fieldId, name: 'reason', required: true, maxlength: '2000', rows: '2', 'data-request': r.requestId });
  reason.value = drafts.reasons[r.requestId] ?? '';
  const result = h('p', { class: 'result', role: 'alert', id: `result-${r.requestId}` }, drafts.results[r.requestId] ?? '');
  const say = (text) => {
    drafts.results[r.requestId] = text;
    // The form may have been redrawn by a live update meanwhile; write to the one on the page.
    const current = document.getElementById(`result-${r.requestId}`) ?? result;
    current.textContent = text;
  };
  const form = h('form', { class: 'decide', 'aria-label': `Decide ${r.step}` },
    h('label', { for: fieldId }, 'Reason (required, recorded with your name)'),
    reason,
    h('div', { class: 'actions' }, verdicts.map((v) => h('button', { type: 'submit', name: 'verdict', value: v, class: `v-${v}`, id: `${v}-${r.requestId}` }, v[0].toUpperCase() + v.slice(1)))),
    result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const verdict = e.submitter?.value;
    const why = reason.value.trim();
    if (!why) {
      say('A reason is required.');
      reason.focus();
      return;
    }
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    const res = await api('POST', `${incidentPath(id)}/decisions`, { verdict, reason: why, step: r.step, requestId: r.requestId });
    for (const b of form.querySelectorAll('button')) b.disabled = false;
    if (res.ok) {
      delete drafts.reasons[r.requestId];
      say(res.json.queued ? `Stored: ${res.json.reason}` : `Accepted: ${verdict} recorded for ${state.identity}.`);
    } else {
      say(`Refused (${res.json.refusal ?? res.status}): ${res.json.reason ?? res.json.error ?? ''}`);
    }
  });
  return form;
}

async function auditView(id) {
  closeStream();
  show(h('h1', {}, `Audit record of ${id}`), h('p', {}, h('a', { href: incidentHash(id) }, 'Back to the incident'), ' · ', h('a', { href: `${incidentPath(id)}/audit`, download: `${id.replaceAll('/', '_')}.audit.json` }, 'Download JSON')), h('p', {}, 'Loading…'));
  focusHeading();
  const res = await api('GET', `${incidentPath(id)}/audit`);
  main().lastChild.replaceWith(res.ok ? h('pre', { class: 'json', id: 'audit', tabindex: '0', 'aria-label': 'Audit record' }, JSON.stringify(res.json, null, 2)) : h('p', { class: 'error', role: 'alert' }, res.json.error ?? `cannot read (${res.status})`));
}

// ---- dead letters ----------------------------------------------------------

async function deadLettersView() {
  closeStream();
  show(h('h1', {}, 'Dead letters'), h('p', {}, 'Fault events the intake refused, kept with their original bytes and the reason.'), h('p', {}, 'Loading…'));
  focusHeading();
  const res = await api('GET', '/dead-letters?limit=200');
  const letters = res.json.deadLetters ?? [];
  main().lastChild.replaceWith(letters.length === 0 ? h('p', { id: 'no-dead-letters' }, res.ok ? 'No dead letters.' : (res.json.error ?? 'cannot list')) : h('table', { id: 'dead-letters' },
    h('thead', {}, h('tr', {}, ['Id', 'Time', 'Reason', 'Subject', 'Size', 'Error', 'Original'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, letters.map((l) => h('tr', { 'data-letter': l.id },
      h('td', {}, h('a', { href: `#/dead-letters/${l.id}` }, String(l.id))), h('td', {}, when(l.time)), h('td', {}, l.reason), h('td', {}, l.originalSubject),
      h('td', {}, `${l.size}${l.truncated ? ' (truncated)' : ''}`), h('td', {}, l.error), h('td', {}, h('code', {}, l.preview)))))));
}

async function deadLetterView(id) {
  closeStream();
  show(h('h1', {}, `Dead letter ${id}`), h('p', {}, 'Loading…'));
  focusHeading();
  const res = await api('GET', `/dead-letters/${encodeURIComponent(id)}`);
  if (!res.ok) {
    main().lastChild.replaceWith(h('p', { class: 'error', role: 'alert' }, res.json.error ?? `cannot read (${res.status})`));
    return;
  }
  const l = res.json;
  const result = h('p', { role: 'alert', id: 'replay-result' });
  const replay = h('button', {
    type: 'button',
    id: 'replay',
    onclick: async () => {
      if (!window.confirm(`Replay dead letter ${id} to ${l.originalSubject}? It is removed from the dead letters once republished.`)) return;
      const r = await api('POST', `/dead-letters/${encodeURIComponent(id)}/replay`, {});
      result.textContent = r.ok ? `Replayed to ${r.json.subject} (stream ${r.json.stream} sequence ${r.json.seq}); removed from the dead letters.` : `Refused: ${r.json.error ?? r.status}`;
      if (r.ok) replay.disabled = true;
    },
  }, 'Replay');
  main().lastChild.replaceWith(h('div', {},
    dl([['Time', when(l.time)], ['Reason', l.reason], ['Error', l.error], ['Subject', l.originalSubject], ['Size', `${l.size} bytes${l.truncated ? ', truncated when stored' : ''}`], ['SHA-256', l.sha256]]),
    h('h2', {}, 'Original bytes'), h('pre', { class: 'json', id: 'original', tabindex: '0', 'aria-label': 'Original bytes' }, l.original),
    h('h2', {}, 'Base64'), h('pre', { class: 'b64', tabindex: '0', 'aria-label': 'Original bytes in base64' }, l.originalBase64),
    replay, result, h('p', {}, h('a', { href: '#/dead-letters' }, 'All dead letters'))));
}

// ---- schedules, backups, drills ---------------------------------------------

function simpleTable(id, caption, columns, rows) {
  return h('table', { id }, h('caption', {}, caption), h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c ?? ''))))));
}

const seconds = (ms) => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

async function operationsView() {
  closeStream();
  show(h('h1', {}, 'Schedules, backups and drills'), h('div', { id: 'ops' }, 'Loading…'));
  focusHeading();
  const [schedules, drills] = await Promise.all([api('GET', '/schedules'), api('GET', '/drills')]);
  const parts = [];
  const all = schedules.json.schedules ?? [];
  const row = (s) => [s.scheduleId, s.runbook ?? '', `${s.service ?? ''}/${s.target ?? ''}`, s.when, s.paused ? `yes${s.note ? `: ${s.note}` : ''}` : 'no', when(s.nextRun),
    s.lastRun ? (s.lastRun.incidentId ? h('a', { href: incidentHash(s.lastRun.incidentId) }, when(s.lastRun.at)) : when(s.lastRun.at)) : '—'];
  const columns = ['Schedule', 'Runbook', 'Target', 'When', 'Paused', 'Next run', 'Last run'];
  // Backups are scheduled runbook runs; their snapshots live on the worker's host (runbook backups reads them there).
  const backups = all.filter((s) => /backup/.test(`${s.runbook ?? ''} ${s.scheduleId}`));
  const others = all.filter((s) => !backups.includes(s));
  parts.push(h('h2', {}, 'Schedules'));
  parts.push(schedules.ok ? simpleTable('schedules', 'Scheduled runbook runs; the last run links to its incident', columns, others.map(row)) : h('p', { class: 'error' }, schedules.json.error ?? 'cannot list schedules'));
  parts.push(h('h2', {}, 'Backups'));
  parts.push(schedules.ok ? simpleTable('backups', 'Scheduled backups; each run is an incident whose steps record the snapshot and its verification', columns, backups.map(row)) : h('p', { class: 'error' }, schedules.json.error ?? 'cannot list backups'));
  parts.push(h('p', { class: 'help' }, 'Snapshot repositories are read on the worker\'s host: runbook backups lists them with their size, age and verification.'));
  parts.push(h('h2', {}, 'Drills'));
  parts.push(drills.ok ? simpleTable('drills', 'Drills, newest first', ['Drill', 'Runbook', 'Target', 'Ended', 'Result', 'RTO', 'RPO'],
    (drills.json.reports ?? []).map((d) => [d.drillId, d.runbook, `${d.service}/${d.target}`, when(d.at), `${d.result}${d.dryRun ? ' (dry run)' : ''}`, seconds(d.rtoMs), seconds(d.rpoMs)])) : h('p', { class: 'error' }, drills.json.error ?? 'cannot list drills'));
  document.getElementById('ops').replaceChildren(...parts);
}

// ---- routing -------------------------------------------------------------

function route() {
  if (!state.identity) return;
  const hash = location.hash.slice(1) || '/incidents';
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  document.title = 'Runbook console';
  if (parts[0] === 'incidents' && parts.length >= 2) {
    const audit = parts[parts.length - 1] === 'audit';
    const id = audit ? parts.slice(1, -1).join('/') : parts.slice(1).join('/');
    document.title = `${id} · Runbook console`;
    return audit ? auditView(id) : incidentView(id);
  }
  if (parts[0] === 'dead-letters') return parts[1] ? deadLetterView(parts[1]) : deadLettersView();
  if (parts[0] === 'operations') return operationsView();
  return incidentsView(new URLSearchParams(query));
}

async function start() {
  document.getElementById('pause-toggle').addEventListener('click', openPauseDialog);
  document.getElementById('pause-form').addEventListener('submit', confirmPause);
  document.getElementById('pause-cancel').addEventListener('click', () => document.getElementById('pause-dialog').close());
  document.getElementById('sign-out').addEventListener('click', async () => {
    await api('DELETE', '/console/session');
    signedOut('Signed out.');
  });
  window.addEventListener('hashchange', route);
  const session = await api('GET', '/console/session');
  if (session.ok) signedIn(session.json);
  else signedOut('');
}

document.addEventListener('DOMContentLoaded', start);
