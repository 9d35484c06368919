/**
 * The checkpoint thread: encodes, checksums, writes and fsyncs query checkpoints off the main thread. The main
 * thread hands each checkpoint over as the tasks reported it (keyed states: only what changed, see
 * src/sql/runtime/keyed-state.ts); this thread keeps every query's state merged up to its last checkpoint
 * (checkpoint-chain.ts) and writes deltas, or a full checkpoint from the merged state.
 *
 * Requests are answered in order per query. Started by `CheckpointWriter` (checkpoint-writer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CheckpointChain } from './checkpoint-chain.ts';
import type { ChainSettings } from './checkpoint-chain.ts';
import { toWireError, type WireError } from './thread-support.ts';
import type { Checkpoint } from './types.ts';

export type ThreadRequest =
  | { readonly seq: number; readonly op: 'open'; readonly name: string; readonly folder: string }
  | { readonly seq: number; readonly op: 'save'; readonly name: string; readonly folder: string; readonly checkpoint: Checkpoint }
  | { readonly seq: number; readonly op: 'forget'; readonly name: string };

export type ThreadReply =
  | { readonly seq: number; readonly ok: true; readonly value: unknown }
  | { readonly seq: number; readonly ok: false; readonly error: WireError }
  | { readonly log: { readonly level: 'info' | 'warn'; readonly msg: string; readonly fields: Record<string, unknown> } };

const settings = workerData as ChainSettings;
const port = parentPort!;
const chains = new Map<string, CheckpointChain>();
/** Per query: the end of its last request, so its requests run one at a time, in order. */
const queues = new Map<string, Promise<unknown>>();

function post(reply: ThreadReply): void {
  port.postMessage(reply);
}

function chainOf(name: string, folder: string): CheckpointChain {
  let chain = chains.get(name);
  if (!chain) {
    chain = new CheckpointChain(name, folder, settings, (level, msg, fields) => post({ log: { level, msg, fields } }));
    chains.set(name, chain);
  }
  return chain;
}

async function handle(req: ThreadRequest): Promise<unknown> {
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
