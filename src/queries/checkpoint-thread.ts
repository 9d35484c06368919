/**
 * The checkpoint thread: encodes, checksums, writes and fsyncs query checkpoints off the main thread. The main
 * thread hands each checkpoint over as the tasks reported it (keyed states: only what changed, see
 * src/sql/runtime/keyed-state.ts; the states of a query thread still sealed, sealed-state.ts); this thread keeps every query's state merged up to its last checkpoint
 * (checkpoint-chain.ts) and writes deltas, or a full checkpoint from the merged state.
 *
 * Requests are answered in order per query. Started by `CheckpointWriter` (checkpoint-writer.ts). The chains are
 * kept in files (each query's folder) or, for a cluster, in PostgreSQL (postgres-checkpoints.ts), on this thread's
 * own connections.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type pg from 'pg';
import { folderMedium } from './chain-medium.ts';
import { CheckpointChain } from './checkpoint-chain.ts';
import type { ChainSettings } from './checkpoint-chain.ts';
import { openPool, postgresMedium, type PostgresPlace } from './postgres-checkpoints.ts';
import { toWireError, type WireError } from './thread-support.ts';
import type { Checkpoint, LeaseFence } from './types.ts';

/** What the thread is started with: the chains' settings, and PostgreSQL's place when the chains are kept there. */
export interface ThreadData {
  readonly chain: ChainSettings;
  readonly postgres?: PostgresPlace;
}

/** `folder`: the query's folder (files); `fence`: the lease its changes are fenced by (PostgreSQL). */
export type ThreadRequest =
  | { readonly seq: number; readonly op: 'open'; readonly name: string; readonly folder: string; readonly fence?: LeaseFence | null }
  | { readonly seq: number; readonly op: 'save'; readonly name: string; readonly folder: string; readonly checkpoint: Checkpoint; readonly fence?: LeaseFence | null }
  | { readonly seq: number; readonly op: 'forget'; readonly name: string };

export type ThreadReply =
  | { readonly seq: number; readonly ok: true; readonly value: unknown }
  | { readonly seq: number; readonly ok: false; readonly error: WireError }
  | { readonly log: { readonly level: 'info' | 'warn'; readonly msg: string; readonly fields: Record<string, unknown> } };

const { chain: settings, postgres } = workerData as ThreadData;
const port = parentPort!;
const chains = new Map<string, CheckpointChain>();
/** Per query: the fence of the request being handled. */
const fences = new Map<string, LeaseFence | null | undefined>();
let pool: pg.Pool | undefined;
/** Per query: the end of its last request, so its requests run one at a time, in order. */
const queues = new Map<string, Promise<unknown>>();

function post(reply: ThreadReply): void {
  port.postMessage(reply);
}

function chainOf(name: string, folder: string): CheckpointChain {
  let chain = chains.get(name);
  if (!chain) {
    const medium = postgres
      ? postgresMedium((pool ??= openPool(postgres, 2)), postgres, name, () => fences.get(name))
      : folderMedium(folder);
    chain = new CheckpointChain(name, medium, settings, (level, msg, fields) => post({ log: { level, msg, fields } }));
    chains.set(name, chain);
  }
  return chain;
}

async function handle(req: ThreadRequest): Promise<unknown> {
  if (req.op !== 'forget') fences.set(req.name, req.fence);
  switch (req.op) {
    case 'open': {
      // A query (re)starting reads its files afresh.
      chains.delete(req.name);
      return chainOf(req.name, req.folder).open();
    }
    case 'save': {
      const { bytes } = await chainOf(req.name, req.folder).save(req.checkpoint);
      return bytes;
    }
    case 'forget':
      chains.delete(req.name);
      fences.delete(req.name);
      return null;
  }
}

port.on('message', (req: ThreadRequest) => {
  const run = (queues.get(req.name) ?? Promise.resolve()).then(() => handle(req));
  queues.set(req.name, run.catch(() => {}));
  run.then(
    (value) => post({ seq: req.seq, ok: true, value }),
    (err: unknown) => post({ seq: req.seq, ok: false, error: toWireError(err) }),
  );
});
