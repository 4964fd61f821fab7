import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertmanagerMapping, DEFAULT_ALERTMANAGER_MAPPING, type AlertmanagerPayload } from '../../schemas/alertmanager';
import {
  MAX_ALERTMANAGER_BODY_BYTES,
  alertsToFaultEvents,
  labelsFingerprint,
  parseAlertmanagerBody,
  toFaultKind,
  toSafeId,
} from '../../intake/alertmanager';
import { FaultEvent, MAX_LABEL_VALUE_LENGTH } from '../../schemas/fault-event';
import { SafeId } from '../../schemas/identifiers';

const encoder = new TextEncoder();
const NOW = new Date('2024-05-01T13:00:00Z');

function alert(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'firing',
    labels: { alertname: 'NodeDown', service: 'web', instance: 'web-2', severity: 'critical' },
    annotations: { summary: 'web-2 is down' },
    startsAt: '2024-05-01T12:00:00.123456789Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.local/graph?g0.expr=up',
    fingerprint: 'c4c5a8f2e1d3b7a9',
    ...overrides,
  };
}

function notification(alerts: Record<string, unknown>[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '4',
    groupKey: '{}:{alertname="NodeDown"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'ops',
    groupLabels: { alertname: 'NodeDown' },
    commonLabels: { alertname: 'NodeDown' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local',
    alerts,
    ...overrides,
  };
}

function parsed(body: unknown): AlertmanagerPayload {
  const result = parseAlertmanagerBody(encoder.encode(JSON.stringify(body)));
  if (!result.ok) assert.fail(`expected a payload, got: ${result.error}`);
  return result.payload;
}

function mapOne(alertBody: Record<string, unknown>, mapping = DEFAULT_ALERTMANAGER_MAPPING): FaultEvent {
  const { events, rejected } = alertsToFaultEvents(parsed(notification([alertBody])), mapping, NOW);
  assert.deepEqual(rejected, []);
  assert.equal(events.length, 1);
  const [event] = events;
  assert.ok(event);
  return event;
}

describe('Alertmanager webhook mapping', () => {
  test('a firing alert becomes a fault event keyed by fingerprint and start time', () => {
    const event = mapOne(alert());
    assert.deepEqual(FaultEvent.parse(event), event);
    assert.equal(event.id, `am-c4c5a8f2e1d3b7a9-${Date.parse('2024-05-01T12:00:00.123Z')}`);
    assert.equal(event.source, 'alertmanager:ops');
    assert.equal(event.service, 'web');
    assert.equal(event.target, 'web-2');
    assert.equal(event.kind, 'NodeDown');
    assert.equal(event.severity, 'critical');
    assert.equal(event.status, 'firing');
    assert.equal(event.observedAt, '2024-05-01T12:00:00.123Z');
    assert.equal(event.annotations['summary'], 'web-2 is down');
    assert.equal(event.annotations['generatorURL'], 'http://prometheus.local/graph?g0.expr=up');
  });

  test('a repeat of the same notification maps to the same event id', () => {
    assert.equal(mapOne(alert()).id, mapOne(alert()).id);
  });

  test('a resolved alert is a distinct event observed at its end time', () => {
    const firing = mapOne(alert());
    const resolved = mapOne(alert({ status: 'resolved', endsAt: '2024-05-01T12:30:00Z' }));
    assert.equal(resolved.status, 'resolved');
    assert.equal(resolved.id, `${firing.id}-resolved`);
    assert.equal(resolved.observedAt, '2024-05-01T12:30:00.000Z');
  });

  test('a resolved alert without an end time is observed now', () => {
    const resolved = mapOne(alert({ status: 'resolved', endsAt: '0001-01-01T00:00:00Z' }));
    assert.equal(resolved.observedAt, NOW.toISOString());
  });

  test('a grouped notification with three alerts yields three events in order', () => {
    const body = notification([
      alert({ labels: { alertname: 'NodeDown', service: 'web', instance: 'web-1' }, fingerprint: 'a1' }),
      alert({ labels: { alertname: 'NodeDown', service: 'web', instance: 'web-2' }, fingerprint: 'a2' }),
      alert({ labels: { alertname: 'NodeDown', service: 'web', instance: 'web-3' }, fingerprint: 'a3', status: 'resolved' }),
    ]);
    const { events, rejected } = alertsToFaultEvents(parsed(body), DEFAULT_ALERTMANAGER_MAPPING, NOW);
    assert.deepEqual(rejected, []);
    assert.deepEqual(events.map((event) => event.target), ['web-1', 'web-2', 'web-3']);
    assert.deepEqual(events.map((event) => event.status), ['firing', 'firing', 'resolved']);
    assert.equal(new Set(events.map((event) => event.id)).size, 3);
  });

  test('an alert missing its service or target is rejected by index without holding back the others', () => {
    const body = notification([
      alert({ labels: { alertname: 'NodeDown', instance: 'web-1' } }),
      alert(),
      alert({ labels: { alertname: 'NodeDown', service: 'web' } }),
    ]);
    const { events, rejected } = alertsToFaultEvents(parsed(body), DEFAULT_ALERTMANAGER_MAPPING, NOW);
    assert.equal(events.length, 1);
    assert.deepEqual(rejected.map((entry) => entry.index), [0, 2]);
    assert.match(rejected[0]?.error ?? '', /service \(labels service, job\)/);
    assert.match(rejected[1]?.error ?? '', /target \(labels instance, target\)/);
  });

  test('service falls back to job and target to the target label', () => {
    const event = mapOne(alert({ labels: { alertname: 'Down', job: 'node-exporter', target: 'db-1' } }));
    assert.equal(event.service, 'node-exporter');
    assert.equal(event.target, 'db-1');
  });

  test('a host:port instance is normalised into the safe identifier set', () => {
    const event = mapOne(alert({ labels: { alertname: 'NodeDown', service: 'web', instance: '10.0.0.1:9100' } }));
    assert.equal(event.target, '10.0.0.1_9100');
    assert.equal(event.labels['instance'], '10.0.0.1:9100');
  });

  test('normalisation is deterministic and always lands in the safe set', () => {
    const samples = ['10.0.0.1:9100', '$(reboot)', '../etc', 'web 2', '-lead', '.hidden', 'a..b', 'ünïcode', 'x'.repeat(200), `${'y'.repeat(70)}:1`];
    for (const sample of samples) {
      const safe = toSafeId(sample);
      assert.equal(toSafeId(sample), safe);
      assert.ok(SafeId.safeParse(safe).success, `${sample} -> ${safe}`);
    }
    assert.equal(toSafeId('web-2'), 'web-2');
    assert.notEqual(toSafeId('x'.repeat(200)), toSafeId(`${'x'.repeat(199)}y`));
    assert.equal(toFaultKind('Node Down'), 'Node_Down');
    assert.equal(toFaultKind('disk.full'), 'disk_full');
  });

  test('severity label values map through the default table and unknown ones become warning', () => {
    const cases: [string | undefined, string][] = [
      ['critical', 'critical'],
      ['page', 'critical'],
      ['ERROR', 'critical'],
      ['warn', 'warning'],
      ['info', 'info'],
      ['whatever', 'warning'],
      [undefined, 'warning'],
    ];
    for (const [value, expected] of cases) {
      const labels: Record<string, string> = { alertname: 'NodeDown', service: 'web', instance: 'web-2' };
      if (value !== undefined) labels['severity'] = value;
      assert.equal(mapOne(alert({ labels })).severity, expected, String(value));
    }
  });

  test('the mapping is configurable and rejects misspelt options', () => {
    const mapping = AlertmanagerMapping.parse({
      serviceLabels: ['app'],
      targetLabels: ['node'],
      kindLabel: 'problem',
      severityLabel: 'priority',
      severityMap: { P1: 'critical' },
      defaultSeverity: 'info',
      sourcePrefix: 'am-eu',
    });
    const event = mapOne(
      alert({ labels: { app: 'billing', node: 'b-3', problem: 'disk_full', priority: 'p1' } }),
      mapping,
    );
    assert.equal(event.service, 'billing');
    assert.equal(event.target, 'b-3');
    assert.equal(event.kind, 'disk_full');
    assert.equal(event.severity, 'critical');
    assert.equal(event.source, 'am-eu:ops');
    assert.equal(mapOne(alert({ labels: { app: 'billing', node: 'b-3', problem: 'x' } }), mapping).severity, 'info');
    assert.ok(!AlertmanagerMapping.safeParse({ servceLabels: ['app'] }).success);
  });

  test('a runbook label becomes the hint only when it is a valid runbook name', () => {
    const base = { alertname: 'NodeDown', service: 'web', instance: 'web-2' };
    assert.equal(mapOne(alert({ labels: { ...base, runbook: 'node-failover' } })).runbook, 'node-failover');
    assert.equal(mapOne(alert({ labels: { ...base, runbook: 'http://wiki/x' } })).runbook, undefined);
  });

  test('a missing fingerprint is derived from the labels, independent of their order', () => {
    const labels = { alertname: 'NodeDown', service: 'web', instance: 'web-2' };
    const reordered = { instance: 'web-2', service: 'web', alertname: 'NodeDown' };
    const { fingerprint: _fingerprint, ...noFingerprint } = alert({ labels });
    const event = mapOne(noFingerprint);
    assert.equal(event.id, `am-${labelsFingerprint(reordered)}-${Date.parse('2024-05-01T12:00:00.123Z')}`);
    assert.notEqual(labelsFingerprint(labels), labelsFingerprint({ ...labels, instance: 'web-3' }));
  });

  test('oversized label values and odd label names are fitted rather than refused', () => {
    const event = mapOne(
      alert({
        labels: {
          alertname: 'NodeDown',
          service: 'web',
          instance: 'web-2',
          'odd name!': 'v',
          long: 'z'.repeat(MAX_LABEL_VALUE_LENGTH + 10),
        },
      }),
    );
    assert.equal(event.labels['odd_name_'], 'v');
    assert.equal(event.labels['long']?.length, MAX_LABEL_VALUE_LENGTH);
  });

  test("Grafana's variant with its extra fields is accepted", () => {
    const grafana = {
      receiver: 'grafana-webhook',
      status: 'firing',
      orgId: 1,
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'High latency', grafana_folder: 'Ops', service: 'api', instance: 'api-1:8080', severity: 'warning' },
          annotations: { summary: 'p99 above 2s' },
          startsAt: '2024-05-01T12:00:00+02:00',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://grafana.local/alerting/grafana/abc/view',
          fingerprint: '57c6d9296de2ad39',
          silenceURL: 'http://grafana.local/alerting/silence/new',
          dashboardURL: '',
          panelURL: '',
          values: { B: 2.3, C: 1 },
          valueString: "[ var='B' labels={} value=2.3 ]",
        },
      ],
      groupLabels: { alertname: 'High latency' },
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://grafana.local/',
      version: '1',
      groupKey: '{}:{alertname="High latency"}',
      truncatedAlerts: 0,
      title: '[FIRING:1] High latency',
      state: 'alerting',
      message: '**Firing** ...',
    };
    const { events, rejected } = alertsToFaultEvents(parsed(grafana), DEFAULT_ALERTMANAGER_MAPPING, NOW);
    assert.deepEqual(rejected, []);
    const [event] = events;
    assert.ok(event);
    assert.equal(event.kind, 'High_latency');
    assert.equal(event.target, 'api-1_8080');
    assert.equal(event.severity, 'warning');
    assert.equal(event.source, 'alertmanager:grafana-webhook');
    assert.equal(event.observedAt, '2024-05-01T10:00:00.000Z');
    assert.equal(event.id, `am-57c6d9296de2ad39-${Date.parse('2024-05-01T10:00:00Z')}`);
  });
});

describe('parseAlertmanagerBody', () => {
  test('a malformed body names each failing field', () => {
    const result = parseAlertmanagerBody(
      encoder.encode(
        JSON.stringify(
          notification([alert(), alert({ startsAt: 'yesterday', labels: { a: 1 } })], { status: 'broken' }),
        ),
      ),
    );
    assert.ok(!result.ok);
    assert.equal(result.reason, 'invalid');
    assert.deepEqual(
      new Set(result.issues.map((issue) => issue.path)),
      new Set(['status', 'alerts.1.labels.a', 'alerts.1.startsAt']),
    );
    assert.match(result.error, /status: expected one of firing\|resolved/);
  });

  test('a body without alerts is refused', () => {
    const { alerts: _alerts, ...rest } = notification([]);
    const result = parseAlertmanagerBody(encoder.encode(JSON.stringify(rest)));
    assert.ok(!result.ok);
    assert.equal(result.error, 'alerts: is required');
  });

  test('non-JSON and oversized bodies are refused before validation', () => {
    const garbage = parseAlertmanagerBody(encoder.encode('<html>'));
    assert.ok(!garbage.ok);
    assert.equal(garbage.reason, 'not_json');
    const huge = parseAlertmanagerBody(new Uint8Array(MAX_ALERTMANAGER_BODY_BYTES + 1));
    assert.ok(!huge.ok);
    assert.equal(huge.reason, 'too_large');
  });
});

describe('Alertmanager mapping, label names that shadow Object.prototype', () => {
  const base = { alertname: 'NodeDown', service: 'web', instance: 'web-2' };

  /** Built from JSON text, because an object literal's `__proto__` sets the prototype instead of a key. */
  function bodyWithLabels(labelsJson: string, annotationsJson = '{}'): Uint8Array {
    const text = JSON.stringify(notification([alert({ labels: '@labels', annotations: '@annotations' })]))
      .replace('"@labels"', labelsJson)
      .replace('"@annotations"', annotationsJson);
    return encoder.encode(text);
  }

  function mapBody(bytes: Uint8Array): FaultEvent {
    const result = parseAlertmanagerBody(bytes);
    if (!result.ok) assert.fail(`expected a payload, got: ${result.error}`);
    const { events, rejected } = alertsToFaultEvents(result.payload, DEFAULT_ALERTMANAGER_MAPPING, NOW);
    assert.deepEqual(rejected, []);
    const [event] = events;
    assert.ok(event);
    return event;
  }

  test('a severity of constructor, __proto__ or toString takes the default severity', () => {
    for (const value of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'CONSTRUCTOR']) {
      const labels = JSON.stringify({ ...base, severity: value });
      assert.equal(mapBody(bodyWithLabels(labels)).severity, DEFAULT_ALERTMANAGER_MAPPING.defaultSeverity, value);
    }
  });

  test('a severity map in the mapping file may still name constructor explicitly', () => {
    const mapping = AlertmanagerMapping.parse({ severityMap: { constructor: 'critical' }, defaultSeverity: 'info' });
    const severityOf = (value: string) =>
      alertsToFaultEvents(parsed(notification([alert({ labels: { ...base, severity: value } })])), mapping, NOW).events[0]
        ?.severity;
    assert.equal(severityOf('Constructor'), 'critical');
    assert.equal(severityOf('__proto__'), 'info');
  });

  test('labels and annotations named constructor, __proto__ and hasOwnProperty are kept with their values', () => {
    const labels = '{"alertname":"NodeDown","service":"web","instance":"web-2","constructor":"c","__proto__":"p","hasOwnProperty":"h"}';
    const annotations = '{"__proto__":"pa","constructor":"ca","summary":"s"}';
    const event = mapBody(bodyWithLabels(labels, annotations));
    assert.ok(Object.hasOwn(event.labels, '__proto__'));
    assert.equal(Object.getPrototypeOf(event.labels), Object.prototype);
    assert.equal(event.labels['constructor'], 'c');
    assert.equal(event.labels['__proto__'], 'p');
    assert.equal(event.labels['hasOwnProperty'], 'h');
    assert.equal(event.annotations['__proto__'], 'pa');
    assert.equal(event.annotations['constructor'], 'ca');

    const wire = JSON.parse(JSON.stringify(event)) as { labels: Record<string, string> };
    assert.equal(Object.getOwnPropertyDescriptor(wire.labels, '__proto__')?.value, 'p');
    const again = FaultEvent.parse(wire);
    assert.deepEqual(
      Object.entries(again.labels).sort(),
      Object.entries(event.labels).sort(),
    );
    assert.equal(again.labels['__proto__'], 'p');
  });
});
