/**
 * Reference rates that bound what a server can do on this machine: how fast one core parses the payload
 * (JSON.parse per NDJSON line), and how fast the disk takes the same bytes with an fdatasync per batch.
 */
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface RateResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

/** JSON.parse of each line, on this thread, for `durationMs`. */
export function measureJsonParse(lines: readonly string[], durationMs: number): RateResult {
  let sink = 0;
  // Warm the parser up so that the measured loop runs optimized code.
  for (let i = 0; i < Math.min(lines.length, 20_000); i++) sink += (JSON.parse(lines[i]!) as { lane: number }).lane;
  let records = 0;
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    for (let i = 0; i < 1000; i++) {
      sink += (JSON.parse(lines[(records + i) % lines.length]!) as { lane: number }).lane;
    }
    records += 1000;
    now = performance.now();
  }
  if (sink < 0) console.log(sink);
  const seconds = (now - start) / 1000;
  return { records, seconds, recordsPerSecond: records / seconds };
}

export interface FsyncResult extends RateResult {
  readonly batchRecords: number;
  readonly batchBytes: number;
  readonly syncsPerSecond: number;
  readonly megabytesPerSecond: number;
}

/**
 * Appends `batch` (the bytes of `batchRecords` records) to a fresh file in `dir` and fdatasyncs after each
 * append, one batch at a time, for `durationMs`: the rate of a writer that does nothing else.
 */
export function measureAppendFdatasync(dir: string, batch: Buffer, batchRecords: number, durationMs: number): FsyncResult {
  const file = path.join(dir, `fsync-reference-${process.pid}-${batchRecords}.log`);
  const fd = openSync(file, 'a');
  try {
    let batches = 0;
    const start = performance.now();
    let now = start;
    while (now - start < durationMs) {
      writeSync(fd, batch);
      fdatasyncSync(fd);
      batches++;
      now = performance.now();
    }
    const seconds = (now - start) / 1000;
    return {
      batchRecords,
      batchBytes: batch.length,
      records: batches * batchRecords,
      seconds,
      recordsPerSecond: (batches * batchRecords) / seconds,
      syncsPerSecond: batches / seconds,
      megabytesPerSecond: (batches * batch.length) / seconds / 1e6,
    };
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
}
