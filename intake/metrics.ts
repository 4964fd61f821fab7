import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Outcomes an event can have at the intake. */
export type EventOutcome = 'started' | 'coalesced' | 'resolved' | 'resolved_no_incident' | 'dead_lettered' | 'unhandled' | 'retried' | 'duplicate';

/** What became of one alert posted to the Alertmanager receiver. */
export type AlertOutcome = 'stored' | 'duplicate' | 'rejected';

/** The intake's Prometheus metrics. */
export interface IntakeMetrics {
  events: Counter<'outcome'>;
  handoffSeconds: Histogram;
  /** From JetStream storing a message to this process receiving it, first deliveries only. */
  deliveryLagSeconds: Histogram;
  /** From receiving a message to making the hand-off call that carries it. */
  waitSeconds: Histogram;
  /** Consumer backlog by state: pending, unacked, redelivered (from the server) and in_process (this process). */
  backlog: Gauge<'state'>;
  /** Settings of a stream or consumer that differ from what the intake asks for. */
  configDrift: Gauge;
  alerts: Counter<'outcome'>;
  /** Requests to the Alertmanager receiver refused for want of a valid credential. */
  webhookUnauthorized: Counter;
  /** Requests to the Alertmanager receiver refused by the per-address rate limit. */
  webhookRateLimited: Counter;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Registers the intake metrics on a registry. */
export function createIntakeMetrics(registry: Registry): IntakeMetrics {
  return {
    events: new Counter({
      name: 'runbook_intake_events_total',
      help: 'Fault event deliveries processed by the intake, by outcome (retried: nacked for redelivery).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    handoffSeconds: new Histogram({
      name: 'runbook_intake_handoff_seconds',
      help: 'Time from starting a handoff to Temporal accepting it, retries within one delivery included.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    deliveryLagSeconds: new Histogram({
      name: 'runbook_intake_delivery_lag_seconds',
      help: 'Time from JetStream storing a fault message to the intake receiving it, on its first delivery (server and intake clocks).',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    waitSeconds: new Histogram({
      name: 'runbook_intake_wait_seconds',
      help: 'Time from the intake receiving a fault message to making the Temporal call that hands it on (waiting behind its target, validation, routing).',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    backlog: new Gauge({
      name: 'runbook_intake_backlog',
      help: 'Messages waiting at the intake consumer (pending: not yet delivered; unacked: delivered, not yet acknowledged; redelivered: delivered more than once and unacked; in_process: held by this process).',
      labelNames: ['state'],
      registers: [registry],
    }),
    configDrift: new Gauge({
      name: 'runbook_intake_config_drift',
      help: 'Stream and consumer settings that differ from what the intake asks for (see the start-up log).',
      registers: [registry],
    }),
    alerts: new Counter({
      name: 'runbook_intake_alertmanager_alerts_total',
      help: 'Alerts received on the Alertmanager receiver, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookUnauthorized: new Counter({
      name: 'runbook_intake_webhook_unauthorized_total',
      help: 'Requests to the Alertmanager receiver refused with 401 (missing, malformed or wrong credential) or 503 (no credential configured).',
      registers: [registry],
    }),
    webhookRateLimited: new Counter({
      name: 'runbook_intake_webhook_rate_limited_total',
      help: 'Requests to the Alertmanager receiver refused with 429 by the per-address rate limit.',
      registers: [registry],
    }),
  };
}
