/*
 * A plain GET over node:http for health checks a short-lived command makes
 * (`runbook status`): on Node 20 the first `fetch` loads its whole HTTP
 * client, which costs such a command more than the checks themselves.
 */

/** What a GET answered. */
export interface HttpGetResult {
  status: number;
  ok: boolean;
  text: string;
}

/**
 * GETs an http:// URL and resolves with its status and body; rejects when it
 * cannot connect or no answer completes within `timeoutMs`.
 */
export function httpGet(url: string, timeoutMs: number): Promise<HttpGetResult> {
  const http = require('node:http') as typeof import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
