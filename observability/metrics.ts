import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Route } from './http-server';

/** The process-wide metrics registry (one per process). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });
// /metrics is unauthenticated: it names no versions (the one default metric that does is dropped).
registry.removeSingleMetric('nodejs_version_info');

/** GET /metrics in the Prometheus text format. */
export function metricsRoute(reg: Registry = registry): Route {
  return async (req, res, url) => {
    if (url.pathname !== '/metrics' || req.method !== 'GET') return false;
    const body = await reg.metrics();
    res.writeHead(200, { 'content-type': reg.contentType });
    res.end(body);
    return true;
  };
}
