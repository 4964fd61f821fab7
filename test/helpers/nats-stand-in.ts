import { headers as natsHeaders, type NatsConnection } from 'nats';
import { HDR } from '../../intake/dead-letter';

/** A dead letter as the stand-in stores it. */
export interface StandInLetter {
  seq: number;
  originalSubject: string;
  data: string;
}

/** What {@link natsStandIn} holds. */
export interface StandInContents {
  /** Control bucket values by key. */
  kv: Map<string, string>;
  deadLetters: StandInLetter[];
  /** Audit events, each with the subject the real stream files it under. */
  audit: { subject: string; event: unknown }[];
  /** Everything published through JetStream. */
  published: { subject: string; data: Uint8Array }[];
}

const notFound = (): Error => Object.assign(new Error('no message found'), { api_error: { code: 404, err_code: 10037 } });

/** True when a NATS subject filter (`*`, `>`) matches a subject. */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

/**
 * Just enough of a NatsConnection for the API's routes, in memory: the KV
 * get/put the pause switch uses, the stream info, message get and delete the
 * dead-letter store uses, a publish that acks, and ordered consumers over the
 * audit events that honour their filter subjects. Real behaviour is checked
 * against a real server in the integration tests; this lets unit tests
 * exercise every documented route.
 */
export function natsStandIn(contents: StandInContents): NatsConnection {
  let seq = 0;
  const kv = {
    get: (key: string) => {
      const v = contents.kv.get(key);
      if (v === undefined) return Promise.resolve(null);
      const data = new TextEncoder().encode(v);
      return Promise.resolve({ key, operation: 'PUT', length: data.byteLength, value: data, json: () => JSON.parse(v) as unknown, string: () => v });
    },
    put: (key: string, value: string) => {
      contents.kv.set(key, value);
      return Promise.resolve(++seq);
    },
  };
  const letter = (l: StandInLetter) => {
    const header = natsHeaders();
    header.set(HDR.originalSubject, l.originalSubject);
    header.set(HDR.reason, 'invalid');
    header.set(HDR.error, 'severity: expected a severity');
    return { seq: l.seq, subject: 'faults_dead.invalid', time: new Date(0), data: new TextEncoder().encode(l.data), header };
  };
  const jsm = {
    streams: {
      info: (name: string) => {
        const seqs = name === 'FAULTS_DEAD' ? contents.deadLetters.map((l) => l.seq) : contents.audit.map((_, i) => i + 1);
        return Promise.resolve({ config: { name }, state: { messages: seqs.length, first_seq: Math.min(...seqs, 1), last_seq: Math.max(...seqs, 0) } });
      },
      getMessage: (_stream: string, q: { seq: number }) => {
        const l = contents.deadLetters.find((d) => d.seq === q.seq);
        return l ? Promise.resolve(letter(l)) : Promise.reject(notFound());
      },
      deleteMessage: (_stream: string, s: number) => {
        contents.deadLetters = contents.deadLetters.filter((d) => d.seq !== s);
        return Promise.resolve(true);
      },
    },
  };
  const consumer = (filterSubjects: string[]) => {
    const events = contents.audit.filter((a) => filterSubjects.some((f) => matches(f, a.subject))).map((a) => a.event);
    return {
      info: () => Promise.resolve({ num_pending: events.length }),
      fetch: () => Promise.resolve((async function* () {
        for (const e of events) yield { json: () => e };
      })()),
    };
  };
  const js = {
    views: { kv: () => Promise.resolve(kv) },
    publish: (subject: string, data: Uint8Array) => {
      contents.published.push({ subject, data });
      return Promise.resolve({ stream: 'FAULTS', seq: ++seq, duplicate: false });
    },
    consumers: { get: (_stream: string, o: { filterSubjects: string[] }) => Promise.resolve(consumer(o.filterSubjects)) },
  };
  return { jetstream: () => js, jetstreamManager: () => Promise.resolve(jsm), isClosed: () => false } as unknown as NatsConnection;
}
