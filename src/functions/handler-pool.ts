/**
 * Runs a deployed function's handler in worker threads, one invocation per worker at a time, so a handler that
 * hangs, loops or allocates without bound costs its own worker and never the server: an invocation past the
 * timeout has its worker terminated, a worker past its heap limit dies on its own, one whose heap plus Buffers
 * and ArrayBuffers go past the limit is terminated when it says so (handler-thread.ts watches), and either way
 * the invocation fails as a function error (retried by the mapping's settings) and the next one gets a new worker.
 *
 * A worker commits on its own connection (see handler-thread.ts). It reports how far its commit went; when it is
 * stopped without a word, the stored checkpoints tell (`settleFromStore`), so a commit made just before the
 * stop is never redone.
 */
import { Worker } from 'node:worker_threads';
import { TollstreamError } from '../core/errors.ts';
import { handlerThreadEntry } from './bundle.ts';
import type { HandlerThreadData, InvokeMessage, PostgresWorkerTables, ThreadMessage, WireError } from './protocol.ts';
import { INVOCATION_CHECKPOINTS, type InvocationCheckpoints } from './invocation.ts';
import type { FunctionContext, FunctionEvent, FunctionHandler, HandlerResult } from './types.ts';

/** A line a handler logged, or wrote on its stdout or stderr. */
export interface HandlerLogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields?: Record<string, unknown>;
}

export interface HandlerPoolOptions {
  readonly name: string;
  readonly codeFile: string;
  readonly tablesPath: string;
  /** On a cluster node: the worker commits to these tables in PostgreSQL instead (see handler-thread.ts). */
  readonly postgres?: PostgresWorkerTables;
  readonly timeoutMs: number;
  readonly memoryMiB: number;
  /** Receives what the handler logs. */
  readonly onLog: (line: HandlerLogLine) => void;
  /** Called after an invocation committed on the worker's connection (the notification dispatcher looks then). */
  readonly onCommit: () => void;
}

interface Waiting {
  readonly id: number;
  readonly resolve: (message: Extract<ThreadMessage, { type: 'done' }>) => void;
  readonly reject: (err: Error) => void;
}

/** One worker thread and the invocation it runs. */
class HandlerWorker {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  waiting: Waiting | undefined;
  /** Set once the worker is gone or going: it takes no more invocations. */
  dead: Error | undefined;

  constructor(options: HandlerPoolOptions, entry: URL) {
    const data: HandlerThreadData = { name: options.name, codeFile: options.codeFile, tablesPath: options.tablesPath, memoryMiB: options.memoryMiB, ...(options.postgres ? { postgres: options.postgres } : {}) };
    this.worker = new Worker(entry, {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: options.memoryMiB, maxYoungGenerationSizeMb: Math.max(1, Math.min(32, Math.floor(options.memoryMiB / 8))) },
      stdout: true,
      stderr: true,
    });
    forwardLines(this.worker.stdout, (msg) => options.onLog({ level: 'info', msg }));
    forwardLines(this.worker.stderr, (msg) => options.onLog({ level: 'error', msg }));
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (message: ThreadMessage) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'load-failed') {
          const err = new TollstreamError('FUNCTION_CODE_INVALID', `function '${options.name}': the handler module could not be loaded: ${message.error.message}`, {
            context: { function: options.name },
          });
          this.die(err);
          reject(err);
        } else if (message.type === 'memory-exceeded') {
          crashed(outOfMemory(options, `it held ${mib(message.heapBytes)} MiB of heap and ${mib(message.externalBytes)} MiB of Buffers and ArrayBuffers`));
          void this.worker.terminate();
        } else if (message.type === 'log') options.onLog(message);
        else if (message.type === 'done' && this.waiting?.id === message.id) {
          const waiting = this.waiting;
          this.waiting = undefined;
          waiting.resolve(message);
        }
      });
      const crashed = (err: Error) => {
        this.die(err);
        reject(err);
      };
      this.worker.on('error', (err: Error & { code?: string }) =>
        crashed(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? outOfMemory(options, 'its heap is full', err)
            : new TollstreamError('FUNCTION_CRASHED', `function '${options.name}': the handler's worker failed: ${err.message}`, { context: { function: options.name }, cause: err }),
        ),
      );
      this.worker.on('exit', (code) =>
        crashed(new TollstreamError('FUNCTION_CRASHED', `function '${options.name}': the handler's worker exited (code ${code})`, { context: { function: options.name } })),
      );
    });
    // A load failure is reported to the invocation that waits for it; nobody else needs to hear it.
    this.ready.catch(() => undefined);
  }

  die(err: Error): void {
    this.dead ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}

export class HandlerPool {
  readonly #options: HandlerPoolOptions;
  readonly #idle: HandlerWorker[] = [];
  readonly #all = new Set<HandlerWorker>();
  #nextId = 0;
  #closed = false;

  constructor(options: HandlerPoolOptions) {
    this.#options = options;
  }

  /** The handler to give the functions runtime. */
  readonly handler: FunctionHandler = (event, context) => this.#invoke(event, context);

  /** Workers running now (idle or busy). */
  get size(): number {
    return this.#all.size;
  }

  /** Starts a worker and loads the module in it (kept for the first invocation); FUNCTION_CODE_INVALID when it does not load. */
  async probe(): Promise<void> {
    this.#release(await this.#acquire());
  }

  /** Terminates every worker; invocations still running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((w) => this.#terminate(w, new TollstreamError('FUNCTION_CRASHED', `function '${this.#options.name}' was stopped`))));
  }

  async #invoke(event: FunctionEvent, context: FunctionContext): Promise<HandlerResult> {
    const checkpoints = (context as FunctionContext & { [INVOCATION_CHECKPOINTS]?: InvocationCheckpoints })[INVOCATION_CHECKPOINTS];
    if (!checkpoints) throw new TollstreamError('INTERNAL', 'a deployed handler was called without the runtime\'s checkpoints');
    const worker = await this.#acquire();
    const id = this.#nextId++;
    const message: InvokeMessage = {
      type: 'invoke',
      id,
      mapping: event.mapping,
      stream: event.stream,
      shardId: event.shardId,
      attempt: context.attempt,
      records: event.records.map((r) => ({
        sequenceNumber: r.sequenceNumber,
        partitionKey: r.partitionKey,
        data: r.data,
        arrivalTime: r.arrivalTime,
        ...(r.subSequenceNumber === undefined ? {} : { subSequenceNumber: r.subSequenceNumber }),
      })),
      checkpoints: checkpoints.target,
    };
    let timer: NodeJS.Timeout | undefined;
    let done: Extract<ThreadMessage, { type: 'done' }>;
    try {
      done = await new Promise((resolve, reject) => {
        worker.waiting = { id, resolve, reject };
        timer = setTimeout(() => {
          const err = new TollstreamError('FUNCTION_TIMEOUT', `function '${this.#options.name}': the invocation ran past its ${this.#options.timeoutMs / 1000} s timeout; its worker was stopped`, {
            context: { function: this.#options.name, timeoutMs: this.#options.timeoutMs },
          });
          void this.#terminate(worker, err);
        }, this.#options.timeoutMs);
        worker.worker.postMessage(message);
      });
    } catch (err) {
      // Stopped without a word: wait until the thread is gone (it commits nothing more), then ask the store.
      await this.#terminate(worker, err as Error);
      if ((await checkpoints.settleFromStore()) !== undefined) this.#options.onCommit();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.#release(worker);
    if (done.committedThrough !== undefined) {
      checkpoints.committed(done.committedThrough);
      this.#options.onCommit();
    }
    if (done.leaseLost) throw new TollstreamError('LEASE_LOST', done.error?.message ?? `function '${this.#options.name}': a commit was refused for the shard's lease`, { context: { function: this.#options.name, ...checkpoints.target.lease } });
    if (done.error) throw handlerError(done.error);
    return done.result;
  }

  async #acquire(): Promise<HandlerWorker> {
    if (this.#closed) throw new TollstreamError('FUNCTION_CRASHED', `function '${this.#options.name}' is stopping`);
    let worker = this.#idle.pop();
    while (worker?.dead) {
      // Died while idle (an error thrown from a timer of the handler's): it is gone already.
      this.#all.delete(worker);
      worker = this.#idle.pop();
    }
    if (!worker) {
      worker = new HandlerWorker(this.#options, await handlerThreadEntry());
      this.#all.add(worker);
    }
    try {
      await worker.ready;
    } catch (err) {
      await this.#terminate(worker, err as Error);
      throw err;
    }
    return worker;
  }

  #release(worker: HandlerWorker): void {
    if (this.#closed || worker.dead) void this.#terminate(worker, new TollstreamError('FUNCTION_CRASHED', 'released'));
    else this.#idle.push(worker);
  }

  async #terminate(worker: HandlerWorker, reason: Error): Promise<void> {
    worker.die(reason);
    this.#all.delete(worker);
    const i = this.#idle.indexOf(worker);
    if (i >= 0) this.#idle.splice(i, 1);
    await worker.worker.terminate();
  }
}

/** A worker stopped for holding more than `memoryMiB`, by V8 (its heap) or by the pool (heap plus Buffers). */
function outOfMemory(options: HandlerPoolOptions, held: string, cause?: Error): TollstreamError {
  return new TollstreamError('FUNCTION_CRASHED', `function '${options.name}': the handler ran out of memory (memoryMiB ${options.memoryMiB}, ${held}); its worker was stopped`, {
    context: { function: options.name, memoryMiB: options.memoryMiB },
    ...(cause ? { cause } : {}),
  });
}

const mib = (bytes: number) => Math.round(bytes / (1024 * 1024));

/** A handler's error as the runtime logs and counts it: its own message, and its code when it had one. */
function handlerError(wire: WireError): Error {
  const err = new Error(wire.message);
  err.name = wire.name;
  if (wire.stack) err.stack = wire.stack;
  if (wire.code !== undefined) (err as Error & { code?: string }).code = wire.code;
  return err;
}

function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line !== '') onLine(line);
    if (partial.length > 64 * 1024) {
      onLine(partial);
      partial = '';
    }
  });
}
