/**
 * The load generator process (started by `startLoadGenerator` in ./client.ts; it talks to its parent over the
 * IPC channel and exits when the parent goes away). It sends bodies built once (./bodies.ts): Kinesis
 * `PutRecords` over cleartext HTTP/2, each request signed with SigV4 when it is sent, as the AWS SDK's default
 * transport does, and native NDJSON over HTTP/1.1 keep-alive. Either closed loop (each of `concurrency` senders
 * sends again as soon as its request is answered) or paced (a body whenever a batch of records is due at
 * `rate`, at most `concurrency` in flight). It reports what was acknowledged and its own CPU.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { kinesisBody, nativeBody, stampBody, type Body, type IdCounter } from './bodies.ts';
import { signKinesisRequest } from './sign.ts';
import type { LoadRunResult, PrepareMessage, RunMessage, ToParent, ToWorker } from './protocol.ts';

/** Longest run this process accepts, ms: whatever it is asked, it stops sending after this. */
const MAX_RUN_MS = 10 * 60_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const PUT_RECORDS_TARGET = 'Kinesis_20131202.PutRecords';
const KINESIS_CONTENT_TYPE = 'application/x-amz-json-1.1';

interface Prepared {
  readonly kind: 'kinesis' | 'native';
  readonly stream: string;
  readonly unique: boolean;
  readonly bodies: Body[];
  readonly free: Body[];
  readonly recordsPerBody: number;
}

const prepared = new Map<string, Prepared>();
const ids: IdCounter = { next: 1, first: 1 };
const idPrefix = `lg${process.pid.toString(36)}${Date.now().toString(36)}-`;

function send(message: ToParent): void {
  process.send!(message);
}

process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToWorker) => {
  void handle(message).catch((err: unknown) => send({ type: 'error', id: message.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
send({ type: 'ready', id: 0 });

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'prepare') return prepare(message);
  if (message.type === 'run') {
    send({ type: 'result', id: message.id, result: await run(message) });
    return;
  }
  if (message.type === 'stop') process.exit(0);
}

function prepare(message: PrepareMessage): void {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const bodies: Body[] = [];
  for (let i = 0; i + message.batch <= message.records.length; i += message.batch) {
    const records = message.records.slice(i, i + message.batch);
    bodies.push(message.kind === 'kinesis' ? kinesisBody(message.stream, records, idPrefix) : nativeBody(records, idPrefix));
  }
  if (bodies.length === 0) throw new Error(`prepare '${message.name}': ${message.records.length} records make no body of ${message.batch}`);
  prepared.set(message.name, { kind: message.kind, stream: message.stream, unique: message.unique, bodies, free: [...bodies], recordsPerBody: message.batch });
  const used = process.cpuUsage(cpu);
  send({
    type: 'prepared',
    id: message.id,
    bodies: bodies.length,
    bytesPerBody: Math.round(bodies.reduce((n, b) => n + b.bytes.length, 0) / bodies.length),
    buildMs: Math.round(performance.now() - started),
    buildCpuMs: Math.round((used.user + used.system) / 1000),
  });
}

interface Outcome {
  readonly accepted: number;
  readonly failed: number;
  /** Time spent on the request's SHA-256 and signature, µs. */
  readonly signUs: number;
}

type Transport = { send(body: Body): Promise<Outcome>; close(): void };

async function run(message: RunMessage): Promise<LoadRunResult> {
  const set = prepared.get(message.name);
  if (!set) throw new Error(`nothing prepared under '${message.name}'`);
  const base = new URL(message.url);
  if (!LOOPBACK_HOSTS.has(base.hostname)) throw new Error(`the load generator sends to loopback addresses only, not ${base.hostname}`);
  if (message.concurrency >= set.bodies.length) throw new Error(`concurrency ${message.concurrency} needs more than ${set.bodies.length} bodies`);
  const durationMs = Math.min(message.durationMs, MAX_RUN_MS);
  const warmupMs = Math.min(message.warmupMs ?? 0, MAX_RUN_MS);
  const transport = set.kind === 'kinesis' ? kinesisTransport(message, base) : nativeTransport(message, set.stream);

  let stampUs = 0;
  let signUs = 0;
  let completed = 0;
  let requests = 0;
  let accepted = 0;
  let uniqueAccepted = 0;
  let failedRecords = 0;
  let failedRequests = 0;
  let sentRecords = 0;
  let firstError: string | undefined;
  const latenciesMs: number[] = [];

  const start = performance.now();
  const measureFrom = start + warmupMs;
  const measureUntil = measureFrom + durationMs;
  let cpuAtMeasure = process.cpuUsage();
  let cpuTaken = false;
  const takeCpu = () => {
    if (!cpuTaken && performance.now() >= measureFrom) {
      cpuAtMeasure = process.cpuUsage();
      cpuTaken = true;
    }
  };
  if (warmupMs === 0) takeCpu();

  const sendOne = async (): Promise<void> => {
    const body = set.free.shift()!;
    const t0 = performance.now();
    const retries = set.unique ? stampBody(body, ids, Date.now()) : 0;
    const t1 = performance.now();
    stampUs += (t1 - t0) * 1000;
    sentRecords += body.records;
    try {
      const outcome = await transport.send(body);
      signUs += outcome.signUs;
      completed++;
      const done = performance.now();
      // Closed loop: requests wholly inside the measured window. Paced: every request issued in it.
      const counted = t0 >= measureFrom && (message.rate !== undefined || done <= measureUntil);
      if (counted) {
        requests++;
        accepted += outcome.accepted;
        // A failed record may have been a retry; counting it against the unique ones never overstates them.
        uniqueAccepted += Math.max(0, body.records - retries - outcome.failed);
        latenciesMs.push(done - t0);
      }
      failedRecords += outcome.failed;
    } catch (err) {
      failedRequests++;
      firstError ??= err instanceof Error ? err.message : String(err);
    } finally {
      set.free.push(body);
    }
  };

  if (message.rate === undefined) {
    // Closed loop: each sender sends again once answered.
    const sender = async () => {
      while (performance.now() < measureUntil) {
        takeCpu();
        const before = failedRequests;
        await sendOne();
        if (failedRequests > before) await sleep(100);
      }
    };
    await Promise.all(Array.from({ length: message.concurrency }, sender));
  } else {
    // Paced: a body whenever a whole batch of records is due, at most `concurrency` in flight.
    const inFlight = new Set<Promise<void>>();
    let due = 0;
    for (;;) {
      const now = performance.now();
      if (now >= measureUntil) break;
      takeCpu();
      if (now >= measureFrom) due = Math.floor(((now - measureFrom) / 1000) * message.rate);
      if (now >= measureFrom && due - sentRecords >= set.recordsPerBody && inFlight.size < message.concurrency) {
        const p: Promise<void> = sendOne().finally(() => inFlight.delete(p));
        inFlight.add(p);
        continue;
      }
      const untilNext = now < measureFrom ? measureFrom - now : ((sentRecords + set.recordsPerBody) / message.rate) * 1000 - (now - measureFrom);
      const wait = Math.max(1, Math.min(50, untilNext));
      if (inFlight.size >= message.concurrency) await Promise.race([...inFlight, sleep(wait)]);
      else await sleep(wait);
    }
    await Promise.all(inFlight);
  }
  const wallMs = performance.now() - Math.max(start, measureFrom);
  const cpu = process.cpuUsage(cpuAtMeasure);
  transport.close();
  const sorted = latenciesMs.sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : Number.NaN);
  return {
    requests,
    records: accepted,
    uniqueRecords: uniqueAccepted,
    sentRecords,
    failedRecords,
    failedRequests,
    ...(firstError ? { firstError } : {}),
    seconds: durationMs / 1000,
    wallSeconds: wallMs / 1000,
    latency: { count: sorted.length, p50Ms: round2(at(50)), p90Ms: round2(at(90)), p99Ms: round2(at(99)), maxMs: round2(sorted.at(-1) ?? Number.NaN) },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    cores: Math.round(((cpu.user + cpu.system) / 1e6 / (wallMs / 1000)) * 100) / 100,
    stampUsPerRecord: sentRecords > 0 ? Math.round((stampUs / sentRecords) * 1000) / 1000 : 0,
    signUsPerRequest: completed > 0 ? Math.round((signUs / completed) * 10) / 10 : 0,
  };
}

function kinesisTransport(message: RunMessage, base: URL): Transport {
  const credentials = message.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local', region: 'us-east-1' };
  const sessions = Array.from({ length: Math.max(1, message.connections) }, () => {
    const session = http2.connect(base.origin);
    session.on('error', () => undefined);
    return session;
  });
  let next = 0;
  const contentHeaders = { 'content-type': KINESIS_CONTENT_TYPE, 'x-amz-target': PUT_RECORDS_TARGET } as const;
  return {
    send(body) {
      const t0 = performance.now();
      const signed = signKinesisRequest(credentials, base.host, contentHeaders, body.bytes, Date.now());
      const signUs = (performance.now() - t0) * 1000;
      const session = sessions[next++ % sessions.length]!;
      return new Promise<Outcome>((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': '/',
          ...contentHeaders,
          ...signed,
          'content-length': String(body.bytes.length),
          'user-agent': 'tollstream-bench-loadgen',
        });
        let status = 0;
        const chunks: Buffer[] = [];
        req.on('response', (headers) => (status = Number(headers[':status'])));
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('error', reject);
        req.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (status !== 200) return reject(new Error(`PutRecords answered HTTP ${status}: ${text.slice(0, 300)}`));
          const m = /"FailedRecordCount"\s*:\s*(\d+)/.exec(text.slice(0, 64));
          if (!m) return reject(new Error(`PutRecords answer without FailedRecordCount: ${text.slice(0, 300)}`));
          const failed = Number(m[1]);
          resolve({ accepted: body.records - failed, failed, signUs });
        });
        req.end(body.bytes);
      });
    },
    close() {
      for (const s of sessions) s.close();
    },
  };
}

function nativeTransport(message: RunMessage, stream: string): Transport {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, message.connections) });
  const url = `${message.url.replace(/\/$/, '')}/v1/streams/${encodeURIComponent(stream)}/records?partitionKeyField=${encodeURIComponent(message.partitionKeyField ?? 'customer_id')}`;
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (message.apiKey) headers.authorization = `Bearer ${message.apiKey}`;
  return {
    send(body) {
      return new Promise<Outcome>((resolve, reject) => {
        const req = http.request(url, { agent, method: 'POST', headers: { ...headers, 'content-length': String(body.bytes.length) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) return reject(new Error(`native append answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
            const m = /"failedRecordCount"\s*:\s*(\d+)/.exec(text.slice(0, 64));
            if (!m) return reject(new Error(`native append answer without failedRecordCount: ${text.slice(0, 300)}`));
            const failed = Number(m[1]);
            resolve({ accepted: body.records - failed, failed, signUs: 0 });
          });
        });
        req.on('error', reject);
        req.end(body.bytes);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
