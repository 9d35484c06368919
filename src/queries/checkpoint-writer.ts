/**
 * The main thread's side of the checkpoint thread (checkpoint-thread.ts): one worker thread per query store,
 * started on first use, holding the process open only while a request is under way.
 */
import { Worker } from 'node:worker_threads';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ChainSettings } from './checkpoint-chain.ts';
import type { ThreadData, ThreadReply, ThreadRequest } from './checkpoint-thread.ts';
import type { PostgresPlace } from './postgres-checkpoints.ts';
import { sealedTransferList } from './sealed-state.ts';
import { fromWireError, threadBoot } from './thread-support.ts';
import type { Checkpoint, LeaseFence } from './types.ts';

const BOOT = threadBoot('checkpoint-thread');

type Pending = { resolve: (value: unknown) => void; reject: (err: unknown) => void };
type Request = ThreadRequest extends infer R ? (R extends ThreadRequest ? Omit<R, 'seq'> : never) : never;

export class CheckpointWriter {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Settles when the reply to each request under way has come. */
  private readonly underWay = new Set<Promise<void>>();

  constructor(
    private readonly settings: ChainSettings,
    private readonly logger: Logger,
    /** Where the chains are kept when not in files. */
    private readonly postgres?: PostgresPlace,
  ) {}

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(BOOT, { eval: true, workerData: { chain: this.settings, ...(this.postgres ? { postgres: this.postgres } : {}) } satisfies ThreadData });
    worker.on('message', (reply: ThreadReply) => {
      if ('log' in reply) {
        if (reply.log.level === 'warn') this.logger.warn(reply.log.msg, reply.log.fields);
        else this.logger.info(reply.log.msg, reply.log.fields);
        return;
      }
      const p = this.pending.get(reply.seq);
      if (!p) return;
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) p.resolve(reply.value);
      else p.reject(fromWireError(reply.error));
    });
    const fail = (err: unknown) => {
      if (this.worker === worker) this.worker = null;
      const error = new TollstreamError('INTERNAL', `the checkpoint thread stopped: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`it exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private request(req: Request, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const worker = this.start();
    const seq = ++this.seq;
    const reply = new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.ref();
      try {
        worker.postMessage({ ...req, seq }, transfer);
      } catch (err) {
        // A state that cannot be cloned (as it could not be serialized): this request fails, the thread goes on.
        this.pending.delete(seq);
        if (this.pending.size === 0) worker.unref();
        reject(new TollstreamError('INTERNAL', `a checkpoint cannot be handed to the checkpoint thread: ${(err as Error).message}`, { cause: err, context: { query: req.name } }));
      }
    });
    const settled = reply.then(() => {}, () => {});
    this.underWay.add(settled);
    void settled.then(() => this.underWay.delete(settled));
    return reply;
  }

  /** Reads a query's checkpoints afresh: the newest one that reads back whole, or null. */
  async open(name: string, folder: string, fence?: LeaseFence | null): Promise<Checkpoint | null> {
    return (await this.request({ op: 'open', name, folder, fence })) as Checkpoint | null;
  }

  /**
   * Stores a checkpoint as the tasks reported it; resolves with the bytes written once it is durable. Its sealed
   * states are moved to the checkpoint thread (their buffers are unusable here afterwards) and opened there.
   */
  async save(name: string, folder: string, checkpoint: Checkpoint, fence?: LeaseFence | null): Promise<number> {
    return (await this.request({ op: 'save', name, folder, checkpoint, fence }, sealedTransferList(checkpoint.sealed))) as number;
  }

  async forget(name: string): Promise<void> {
    await this.request({ op: 'forget', name });
  }

  /** Ends the thread (after the requests under way); the next request starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await Promise.all([...this.underWay]);
    if (this.worker === worker) this.worker = null;
    await worker.terminate();
  }
}
