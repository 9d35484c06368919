/**
 * What the end-to-end alert tests share: `tollstream up` as a child process on a fixed port (so a producer
 * reconnects to the same address after a kill), the operator and customer API, and a producer that sends
 * simulator traffic through the AWS SDK one batch at a time, retrying until every record is acknowledged and
 * reporting records in the order the server stored them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PutRecordsCommand, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { TrafficGenerator, type Breach, type GeneratedRecord, type PlantedDrop, type PlantedSpend, type TollTransaction, type TrafficOptions } from '../../src/simulator/index.ts';
import { cleanEnv, REPO_ROOT } from '../cli/helpers.ts';

// The SDK warns once per process that a future release will need Node.js 22; test output is not the place.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Settings every test server runs with: no warehouse (not under test here, and slow to open). */
export const TEST_SERVER_ENV = { TOLLSTREAM_WAREHOUSE_ENABLED: 'false' };

export interface UpServer {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** SIGKILL: no shutdown code runs, as in a power cut of the process. */
  kill9(): Promise<void>;
  /** SIGTERM, and SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const READY = /tollstream ready at (http:\/\/\S+)/;

/** Starts `tollstream up --data-dir DIR --port PORT --log-level warn` and resolves with its URL once it is ready. */
export async function startUpServer(dataDir: string, port: number, env: Record<string, string> = TEST_SERVER_ENV): Promise<UpServer> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/tollstream.mjs'), 'up', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'], {
    cwd: dataDir,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tollstream up was not ready within 30 s:\n${stderr}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = READY.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tollstream up exited (${code ?? signal}) before it was ready:\n${stderr}`));
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    url,
    child,
    exited,
    stderr: () => stderr,
    async kill9() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function api(url: string, method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url + route, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function expectStatus(done: Promise<{ status: number; json: any }>, status: number, what: string): Promise<any> {
  const res = await done;
  if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json;
}

/** Creates each customer through the operator API, issues a token, and sets the threshold as the customer. */
/** Tolls of `customerId`, one per amount, a second apart and ending a second ago; ids `${idPrefix}-0`, `-1`, ... */
export function recentTolls(idPrefix: string, customerId: string, amounts: readonly number[], now = Date.now()): Array<Record<string, unknown> & { customer_id: string }> {
  return amounts.map((cents, i) => ({
    transaction_id: `${idPrefix}-${i}`,
    customer_id: customerId,
    tag_id: 'TAG-42',
    plate: 'ABC-1234',
    plaza_id: `P0${i + 1}`,
    lane: 1,
    vehicle_class: 2,
    amount_cents: cents,
    currency: 'USD',
    event_time: new Date(now - (amounts.length - i) * 1000).toISOString(),
  }));
}

export async function createCustomers(url: string, thresholds: ReadonlyMap<string, number>): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  for (const [id, cents] of thresholds) {
    await expectStatus(api(url, 'POST', '/v1/customers', { customer_id: id, name: `Customer ${id}`, email: `${id.toLowerCase()}@example.com` }), 201, `POST /v1/customers ${id}`);
    const { token } = await expectStatus(api(url, 'POST', `/v1/customers/${id}/tokens`), 201, `POST /v1/customers/${id}/tokens`);
    await expectStatus(api(url, 'PUT', '/v1/me/threshold', { threshold_cents: cents }, token), 200, `PUT /v1/me/threshold of ${id}`);
    tokens.set(id, token as string);
  }
  return tokens;
}

/** The value of one unlabelled or single-series metric in the Prometheus text of `/metrics`, or undefined. */
export async function metricValue(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export interface NotificationView {
  readonly id: number;
  readonly message: {
    type: string;
    customer_id: string;
    month: string;
    threshold_cents: number;
    total_cents: number;
    breached_at: string;
    /** `window` on the SQL path (the default), `transaction` on the direct path. */
    cause: string;
    transaction_id?: string;
    window?: { start: string; end: string };
  };
}

/**
 * The inbox of one customer against the oracle's breaches of that customer, as the default (SQL) path can
 * promise them: the same (month, threshold) crossings, each once, in order. The SQL path sums a window of
 * tolls at a time, so the notified total is the month's total after the window that crossed: at least the
 * oracle's total at the crossing toll and at most the month's final total, and it names the window instead of
 * the toll.
 */
export function inboxVersusOracle(inbox: readonly NotificationView[], expected: readonly Breach[], monthTotal: (month: string) => number): { got: unknown[]; want: unknown[] } {
  const got = inbox.map((n) => {
    const m = n.message;
    const b = expected.find((e) => e.month === m.month && e.thresholdCents === m.threshold_cents);
    const totalFits = b !== undefined && m.total_cents >= b.totalCents && m.total_cents <= monthTotal(m.month);
    return [m.type, m.customer_id, m.month, m.threshold_cents, m.cause, m.window !== undefined, totalFits];
  });
  const want = expected.map((b) => ['threshold_breach', b.customerId, b.month, b.thresholdCents, 'window', true, true]);
  return { got, want };
}

export async function inboxOf(url: string, token: string): Promise<NotificationView[]> {
  const out: NotificationView[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await expectStatus(api(url, 'GET', `/v1/me/notifications?limit=500${after === undefined ? '' : `&after=${after}`}`, undefined, token), 200, 'GET /v1/me/notifications');
    out.push(...(page.notifications as NotificationView[]));
    if (page.notifications.length < 500) return out;
    after = out[out.length - 1]!.id;
  }
}

/**
 * Waits until every customer's month total (`GET /v1/me/spend`) equals `expected`, then until no notification
 * waits in the outbox. Throws naming the customers still off at the deadline.
 */
export async function waitForTotals(url: string, tokens: ReadonlyMap<string, string>, expected: (customerId: string, month: string) => number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let off: string[] = [];
  while (Date.now() < deadline) {
    off = [];
    for (const [id, token] of tokens) {
      const spend = (await api(url, 'GET', '/v1/me/spend', undefined, token)).json as { month: string; total_cents: number };
      const want = expected(id, spend.month);
      if (spend.total_cents !== want) off.push(`${id}: ${spend.total_cents} of ${want}`);
    }
    if (off.length === 0 && (await metricValue(url, 'tollstream_notify_outbox_pending')) === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`totals did not settle within ${timeoutMs} ms: ${off.slice(0, 10).join(', ') || 'notifications still in the outbox'}`);
}

export interface SendOutcome {
  /** Requests that failed as a whole (connection cut or refused, server not ready) and were sent again. */
  readonly failedRequests: number;
  /** Records PutRecords reported failed one by one and sent again. */
  readonly recordRetries: number;
}

/** A Kinesis client, or anything that sends PutRecords as one (e.g. to another gateway on each attempt). */
export interface PutRecordsSender {
  send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput>;
}

/**
 * Sends `batch` with PutRecords until every record is acknowledged, sending a request again when it fails as a
 * whole (its records may or may not be stored; the stream's dedupe by transaction_id drops the copies).
 * `onStored` gets records in the order the server stored them: each attempt's acknowledged records in batch
 * order, before those of the next attempt, which is the order a shard holds them (a whole request that failed
 * and is sent again keeps its order). Gives up after `deadlineMs` of failures.
 */
export async function putUntilAcknowledged(
  client: PutRecordsSender,
  stream: string,
  batch: readonly TollTransaction[],
  onStored: (records: readonly TollTransaction[]) => void,
  deadlineMs = 60_000,
): Promise<SendOutcome> {
  const encoder = new TextEncoder();
  let pending = [...batch];
  let failedRequests = 0;
  let recordRetries = 0;
  const giveUpAt = Date.now() + deadlineMs;
  while (pending.length > 0) {
    let out;
    try {
      out = await client.send(new PutRecordsCommand({ StreamName: stream, Records: pending.map((tx) => ({ PartitionKey: tx.customer_id, Data: encoder.encode(JSON.stringify(tx)) })) }));
    } catch (err) {
      failedRequests++;
      if (Date.now() > giveUpAt) throw new Error(`PutRecords kept failing for ${deadlineMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const results = out.Records ?? [];
    if (results.length !== pending.length) throw new Error(`PutRecords answered ${results.length} results for ${pending.length} records`);
    const stored: TollTransaction[] = [];
    const retry: TollTransaction[] = [];
    results.forEach((r, i) => (r.ErrorCode ? retry.push(pending[i]!) : stored.push(pending[i]!)));
    onStored(stored);
    recordRetries += retry.length;
    pending = retry;
    if (retry.length > 0) await new Promise((r) => setTimeout(r, 50));
  }
  return { failedRequests, recordRetries };
}

export interface AlertTrafficOptions {
  readonly seed: number;
  /** Customers of the simulated world, all with a threshold. */
  readonly customers: number;
  /** Ordinary records (retries included), before the planted ones. */
  readonly records: number;
  readonly startTime: number;
  readonly eventsPerSecond: number;
  /** How many customers get a planted spend that crosses their threshold. */
  readonly planted: number;
  /** How many customers get a threshold ordinary traffic crosses (the rest get one nothing reaches). */
  readonly crossedByTraffic: number;
  /** Traffic drops planted at plazas (for the station alerts); thresholds are planned on the traffic with them. @default none */
  readonly drops?: readonly PlantedDrop[];
}

export interface AlertTraffic {
  readonly generatorOptions: TrafficOptions;
  /** Records to take from `new TrafficGenerator(generatorOptions)`: the ordinary ones plus the planted ones. */
  readonly count: number;
  readonly thresholds: ReadonlyMap<string, number>;
  /** Customer -> the planted spend that should be the one crossing its threshold. */
  readonly planted: ReadonlyMap<string, PlantedSpend>;
}

/** The amount of a planted spend, in cents: far above any day of ordinary tolls. */
export const PLANTED_CENTS = 50_000;

/**
 * Plans simulator traffic for alert tests from a dry run of the same deterministic generator: planted spends at
 * known times spread over the run with a threshold halfway between the customer's spend just before and just
 * after the plant, thresholds ordinary traffic crosses, and thresholds nothing reaches.
 */
export function planAlertTraffic(options: AlertTrafficOptions): AlertTraffic {
  const base: TrafficOptions = {
    seed: options.seed,
    customers: options.customers,
    plazas: 8,
    startTime: options.startTime,
    eventsPerSecond: options.eventsPerSecond,
    dailyProfile: false,
    outOfOrderShare: 0.05,
    lateShare: 0.01,
    duplicateShare: 0.03,
    ...(options.drops ? { drops: options.drops } : {}),
  };
  const dry = [...take(new TrafficGenerator(base), options.records)];
  const ids = Array.from({ length: options.customers }, (_, i) => `C${String(i + 1).padStart(7, '0')}`);
  const span = dry[dry.length - 1]!.sentAt - options.startTime;
  const spendBefore = (customerId: string, at: number) => {
    const seen = new Set<string>();
    let cents = 0;
    for (const r of dry) {
      if (r.sentAt >= at) break;
      if (r.transaction.customer_id !== customerId || seen.has(r.transaction.transaction_id)) continue;
      seen.add(r.transaction.transaction_id);
      cents += r.transaction.amount_cents;
    }
    return cents;
  };
  const thresholds = new Map<string, number>();
  const planted = new Map<string, PlantedSpend>();
  ids.forEach((id, i) => {
    if (i < options.planted) {
      const at = options.startTime + Math.round(((i + 1) * span) / (options.planted + 1));
      planted.set(id, { customerId: id, at, amountCents: PLANTED_CENTS });
      thresholds.set(id, spendBefore(id, at) + PLANTED_CENTS / 2);
    } else if (i < options.planted + options.crossedByTraffic) {
      thresholds.set(id, Math.floor(spendBefore(id, Infinity) * 0.4));
    } else {
      thresholds.set(id, 100_000_000);
    }
  });
  return { generatorOptions: { ...base, plantedSpends: [...planted.values()] }, count: options.records + planted.size, thresholds, planted };
}

function* take(generator: TrafficGenerator, count: number): Generator<GeneratedRecord> {
  for (let i = 0; i < count; i++) yield generator.next();
}
