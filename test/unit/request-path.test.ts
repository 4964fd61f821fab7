import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dotSegmentRefusal } from '../../observability/request-path';

describe('request paths with dot segments', () => {
  const refused = [
    '/incidents/x/../y',
    '/incidents/web/web-2/../../other/node/decisions',
    '/incidents/..',
    '/..',
    '/incidents/./web/web-2',
    '/incidents/x/%2e%2e/y',
    '/incidents/x/%2E%2E/y',
    '/incidents/x/%2E./y',
    '/incidents/x/.%2e/y',
    '/incidents/x/%252e%252e/y',
    '/incidents/x/..%2fy',
    '/incidents/web%2f..%2fother',
    '/incidents/x\\..\\y',
    '/incidents/x/..\\y',
    '/incidents/x%5c..%5cy',
    '/incidents/x/..?open=true',
  ];
  for (const path of refused) {
    test(`${path} is refused, naming the path without its query`, () => {
      const refusal = dotSegmentRefusal(path);
      assert.ok(refusal, path);
      assert.ok(refusal.includes(JSON.stringify(path.split('?')[0])), refusal);
    });
  }

  const allowed = [
    '/incidents',
    '/incidents?since=..&open=true',
    '/incidents/web/web-2',
    '/incidents/web/web-2/decisions',
    '/incidents/incident%2Fweb%2Fweb-2',
    '/incidents/web/node.example',
    '/incidents/web/a..b',
    '/incidents/web/...',
    '/healthz',
    '/metrics',
    '/',
    '/incidents/web/%zz',
  ];
  for (const path of allowed) {
    test(`${path} is left to routing`, () => {
      assert.equal(dotSegmentRefusal(path), undefined);
    });
  }
});
