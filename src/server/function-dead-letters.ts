/**
 * The functions' dead letters: the batches each event source mapping gave up on, as its on-failure destination
 * (a stream) holds their details, less those sent to the handler again since. Read from the streams on each
 * request; a stream holding more than `MAX_SCANNED` details is read only that far per shard.
 */
import { parseGivenUp, type FunctionsRuntime, type GivenUpBatch } from '../functions/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import type { StartPosition, StreamLog } from '../log/index.ts';

/** Details read per shard of an on-failure stream, at most, on one listing. */
const MAX_SCANNED = 20_000;

export interface FunctionDeadLetter extends GivenUpBatch {
  /** The stream that holds the details. */
  readonly onFailure: string;
  readonly runtime: FunctionsRuntime;
}

/** Every batch given up on by a mapping of `runtimes` and not redriven since, newest first. */
export async function listFunctionDeadLetters(log: StreamLog, runtimes: readonly FunctionsRuntime[], options: { readonly includeRedriven?: boolean } = {}): Promise<FunctionDeadLetter[]> {
  const out = new Map<string, FunctionDeadLetter>();
  for (const runtime of runtimes) {
    const sources = runtime.onFailureStreams();
    for (const onFailure of new Set(sources.map((s) => s.onFailure))) {
      for (const batch of await readDetails(log, onFailure)) {
        // A mapping's details name it; another runtime's mapping writing to the same stream is that runtime's to list.
        if (!runtime.knows(batch.mapping)) continue;
        const key = `${batch.mapping}\u0000${batch.shardId}\u0000${batch.startSequenceNumber}\u0000${batch.endSequenceNumber}`;
        if (out.has(key)) continue;
        if (!options.includeRedriven && (await runtime.wasRedriven(batch))) continue;
        out.set(key, { ...batch, onFailure, runtime });
      }
    }
  }
  return [...out.values()].sort((a, b) => (a.givenUpAt < b.givenUpAt ? 1 : a.givenUpAt > b.givenUpAt ? -1 : 0));
}

async function readDetails(log: StreamLog, stream: string): Promise<GivenUpBatch[]> {
  let shards;
  try {
    shards = (await log.describeStream(stream)).shards;
  } catch (err) {
    if (isTollstreamError(err, 'STREAM_NOT_FOUND')) return [];
    throw err;
  }
  const found: GivenUpBatch[] = [];
  for (const shard of shards) {
    let from: StartPosition | null = { type: 'TRIM_HORIZON' };
    let scanned = 0;
    while (from && scanned < MAX_SCANNED) {
      const read = await log.read(stream, shard.shardId, from, { maxRecords: 1000 });
      if (read.records.length === 0) break;
      scanned += read.records.length;
      for (const r of read.records) {
        const batch = parseGivenUp(r.data);
        if (batch) found.push(batch);
      }
      from = read.next;
    }
  }
  return found;
}
