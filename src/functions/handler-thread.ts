/**
 * Inside a deployed function's worker thread: loads the user's handler module and runs one invocation at a
 * time. The worker has its own connection to the tables database (WAL: the server's connection sees each
 * commit as soon as it is made), so `transact` commits the handler's writes, its notifications (`tx.publish`
 * writes the outbox row) and the mapping's checkpoints in one SQLite transaction here, through the same
 * asynchronous door (`sqliteTableStore`) and `invocationTransact` as in the server.
 * The server's notification dispatcher is woken when the invocation reports its commit.
 *
 * On a node of a cluster the worker commits to the tables in PostgreSQL that the nodes share instead, with its
 * notifications in their outbox (relayed to the node's notifications), and each commit checks in its transaction
 * that the node still holds the shard's lease (`fenceCommits`), as the server's own commits do.
 */
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import type { Logger, LogLevel } from '../core/logger.ts';
import { fenceCommits } from '../leases/index.ts';
import { openNotify, publishToPostgresNotify } from '../notify/index.ts';
import { openPostgresTables, openTables, sqliteTableStore, type StoreTx, type TableStore } from '../tables/index.ts';
import { toWireError, type HandlerThreadData, type InvokeMessage, type ThreadMessage } from './protocol.ts';
import { invocationTransact, toFunctionRecord } from './invocation.ts';
import type { FunctionContext, FunctionHandler, HandlerResult } from './types.ts';

const port = parentPort;
if (!port) throw new Error('handler-thread.ts runs only as a worker thread');
const data = workerData as HandlerThreadData;
const post = (message: ThreadMessage) => port.postMessage(message);

/**
 * V8's heap limit (set by the server) does not count what the handler holds outside the heap: Buffers and
 * ArrayBuffers. `external_memory` counts those of this worker's isolate alone (unlike `process.memoryUsage()`,
 * whose `external` is documented as the process's). It starts at a few MiB of the worker's own (its code), taken
 * as the baseline before the handler's module loads. The worker looks every MEMORY_CHECK_MS and before it reports an
 * invocation done, and tells the server when its heap plus the external memory above the baseline is over the
 * limit; the server stops it as V8 stops a worker out of heap. A timer cannot run while the handler's code runs
 * without yielding: such a stretch is caught when it yields or returns, or by the timeout.
 */
const MEMORY_CHECK_MS = 25;
const memoryLimitBytes = data.memoryMiB * 1024 * 1024;
let externalBaseline: number | undefined;
let memoryReported = false;
/** True when the worker is over its limit (and has said so). */
function overMemoryLimit(): boolean {
  if (memoryReported) return true;
  if (externalBaseline === undefined) return false;
  const stats = v8.getHeapStatistics();
  const external = Math.max(0, stats.external_memory - externalBaseline);
  if (stats.used_heap_size + external <= memoryLimitBytes) return false;
  memoryReported = true;
  post({ type: 'memory-exceeded', heapBytes: stats.used_heap_size, externalBytes: external });
  return true;
}
setInterval(overMemoryLimit, MEMORY_CHECK_MS).unref();

/** Handler log lines go to the server, which keeps them for `tollstream functions logs`. */
function threadLogger(bound: Record<string, unknown>): Logger {
  const emit = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    const all = { ...bound, ...fields };
    let safe: Record<string, unknown> | undefined;
    try {
      safe = Object.keys(all).length === 0 ? undefined : (JSON.parse(JSON.stringify(all, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v))) as Record<string, unknown>);
    } catch {
      safe = { fields: String(all) };
    }
    post({ type: 'log', level, msg: String(msg), ...(safe ? { fields: safe } : {}) });
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => threadLogger({ ...bound, ...fields }),
    isEnabled: () => true,
    lostLines: () => 0,
  };
}

async function loadHandler(): Promise<FunctionHandler> {
  const mod = (await import(pathToFileURL(data.codeFile).href)) as { handler?: unknown; default?: unknown; tables?: unknown };
  const handler = typeof mod.handler === 'function' ? mod.handler : mod.default;
  if (typeof handler !== 'function') {
    throw new TollstreamError('FUNCTION_CODE_INVALID', 'the handler module exports no function: export a function named `handler`, or a default function');
  }
  await createDeclaredTables(mod.tables);
  return handler as FunctionHandler;
}

/** `export const tables = ['name', { name, sortKey: true }]`: the tables the handler writes, created when missing. */
async function createDeclaredTables(declared: unknown): Promise<void> {
  if (declared === undefined) return;
  if (!Array.isArray(declared)) throw new TollstreamError('FUNCTION_CODE_INVALID', "the handler module's `tables` export must be an array of names or { name, sortKey }");
  for (const t of declared) {
    const spec = typeof t === 'string' ? { name: t, sortKey: false } : (t as { name?: unknown; sortKey?: unknown });
    if (typeof spec?.name !== 'string') throw new TollstreamError('FUNCTION_CODE_INVALID', "each entry of the handler module's `tables` export must be a name or { name, sortKey }");
    await store.createTable(spec.name, { sortKey: spec.sortKey === true, ifNotExists: true });
  }
}

let handler!: FunctionHandler;
let store!: TableStore;
try {
  const tables = openTables({ path: data.tablesPath });
  // Adds tx.publish to this connection's transactions; the dispatcher runs in the server, never here.
  const notify = openNotify({ tables });
  if (data.postgres) {
    // Few connections: the worker runs one invocation at a time. tx.publish writes the outbox of the notifications the nodes share.
    store = await openPostgresTables({ connectionString: data.postgres.connectionString, schema: data.postgres.schema, maxConnections: 2 });
    fenceCommits(store, data.postgres.leaseSchema);
    publishToPostgresNotify(store, data.postgres.notifySchema !== undefined ? { schema: data.postgres.notifySchema } : {});
  } else {
    store = sqliteTableStore(tables);
  }
  externalBaseline = v8.getHeapStatistics().external_memory;
  handler = await loadHandler();
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'load-failed', error: toWireError(err) });
}

const logger = threadLogger({});

port.on('message', (message: InvokeMessage) => {
  void invoke(message);
});

const TX_METHODS = ['get', 'put', 'delete', 'update', 'query', 'scan', 'getCheckpoint', 'listCheckpoints', 'setCheckpoint', 'transaction', 'publish'] as const;

/** A promise that remembers whether anyone asked for its outcome (an `await` or `then` does). */
class Watched<T> extends Promise<T> {
  observed = false;
  override then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

/**
 * Runs a deployed handler's transaction function. Handlers written while `transact` was synchronous call `tx`
 * without awaiting it: a call that fails there must still fail the transaction (and roll back the others), as
 * it did when it threw. A failure the function awaited is its own to handle (it may catch it and go on).
 */
async function runWatched<T>(tx: StoreTx, fn: (tx: StoreTx) => Promise<T> | T): Promise<T> {
  const calls: { promise: Watched<unknown>; failure?: { error: unknown } }[] = [];
  const watched: Record<string, unknown> = {};
  for (const name of TX_METHODS) {
    const method = tx[name] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof method !== 'function') continue;
    watched[name] = (...args: unknown[]) => {
      const call: (typeof calls)[number] = { promise: new Watched((resolve, reject) => method.apply(tx, args).then(resolve, (error: unknown) => { call.failure = { error }; reject(error); })) };
      // Marked handled for the process, so that the check below, not an unhandled rejection, decides.
      Promise.prototype.then.call(call.promise, undefined, () => undefined);
      calls.push(call);
      return call.promise;
    };
  }
  const out = await fn(watched as unknown as StoreTx);
  await Promise.allSettled(calls.map((c) => Promise.prototype.then.call(c.promise, undefined, () => undefined)));
  const unnoticed = calls.find((c) => c.failure !== undefined && !c.promise.observed);
  if (unnoticed) throw unnoticed.failure!.error;
  return out;
}

async function invoke(m: InvokeMessage): Promise<void> {
  const records = m.records.map((r) => toFunctionRecord(m.stream, m.shardId, r));
  let committedThrough: string | undefined;
  // As in the server (shard-worker.ts): a transact not awaited is waited for, and its failure fails the invocation.
  const invocation = invocationTransact({
    store,
    target: m.checkpoints,
    records,
    batchEnd: records[records.length - 1]!.sequenceNumber,
    committed: (through) => {
      committedThrough = through;
    },
    run: runWatched,
  });
  const context: FunctionContext = { mapping: m.mapping, attempt: m.attempt, logger, tables: store, transact: invocation.transact };
  const through = () => (committedThrough === undefined ? {} : { committedThrough });
  try {
    const result: HandlerResult = await handler({ mapping: m.mapping, stream: m.stream, shardId: m.shardId, records }, context);
    await invocation.pending();
    // Over the limit at the end: the server stops the worker and the invocation fails, as when out of heap.
    if (overMemoryLimit()) return;
    post({ type: 'done', id: m.id, ...through(), ...(result === undefined || result === null ? {} : { result: JSON.parse(JSON.stringify(result)) as HandlerResult }) });
  } catch (err) {
    const commitError: unknown = await invocation.pending()?.then(() => undefined, (e: unknown) => e);
    // The commit was refused for the shard's lease: said as such, whatever the handler made of it.
    if (isTollstreamError(commitError, 'LEASE_LOST')) post({ type: 'done', id: m.id, error: toWireError(commitError), leaseLost: true });
    else post({ type: 'done', id: m.id, ...through(), error: toWireError(err) });
  }
}
