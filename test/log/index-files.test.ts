/**
 * A segment's index files are rebuilt from the segment when damaged. A flipped bit that keeps the entries in
 * order used to pass the checks at open and send reads to a later batch, silently skipping records.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog } from '../../src/log/index.ts';
import type { EmbeddedLogOptions } from '../../src/log/index.ts';

const SHARD = 'shardId-000000000000';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-index-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Where the entries start: after the header line of a checksummed file, at 0 in a bare one. */
function entriesStart(bytes: Buffer): number {
  return bytes.subarray(0, 16).toString('latin1').startsWith('tollstream-state') ? bytes.indexOf(0x0a) + 1 : 0;
}

const T0 = 1_800_000_000_000;

/** Writes 120 records a second apart (three segments, an index entry every third batch), closes the log. */
async function writeRecords(): Promise<{ options: EmbeddedLogOptions; seqs: string[]; indexFile: string }> {
  let clock = T0;
  const options: EmbeddedLogOptions = { dir, fsync: 'always', segmentBytes: 8192, indexIntervalBytes: 400, now: () => clock };
  const log = await openEmbeddedLog(options);
  await log.createStream('s');
  const seqs: string[] = [];
  for (let i = 0; i < 120; i++) {
    clock = T0 + i * 1000;
    const [r] = await log.append('s', [{ partitionKey: 'k', data: Buffer.from(`record-${String(i).padStart(3, '0')}-${'x'.repeat(90)}`) }]);
    if (r!.ok) seqs.push(r!.sequenceNumber);
  }
  await log.close();
  const shardDir = path.join(dir, 'streams', 's', SHARD);
  const indexFile = path.join(shardDir, (await readdir(shardDir)).filter((n) => n.endsWith('.index')).sort()[0]!);
  return { options, seqs, indexFile };
}

describe('segment index files', () => {
  it('are rebuilt when a flipped bit moves a position, instead of failing reads of an intact segment', async () => {
    const { options, seqs, indexFile } = await writeRecords();
    const bytes = await readFile(indexFile);
    const start = entriesStart(bytes);
    // Entry 2's position, one byte later: still in order, but inside a batch.
    const k = 2;
    const rel = bytes.readUInt32BE(start + k * 8);
    bytes[start + k * 8 + 7] = bytes[start + k * 8 + 7]! ^ 0x01;
    await writeFile(indexFile, bytes);

    const log = await openEmbeddedLog(options);
    const at = await log.read('s', SHARD, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seqs[rel]! }, { maxRecords: 1 });
    expect(at.records.map((r) => r.sequenceNumber)).toEqual([seqs[rel]]);
    await log.close();
    expect((await readFile(indexFile, 'latin1')).startsWith('tollstream-state/1 segment-index v1 ')).toBe(true);
  });

  it('are rebuilt when a flipped bit moves a time back, instead of skipping records read by time', async () => {
    const { options, seqs, indexFile } = await writeRecords();
    const timeFile = indexFile.replace(/\.index$/, '.timeindex');
    const bytes = await readFile(timeFile);
    const start = entriesStart(bytes);
    const entries = (bytes.length - start) / 12;
    const time = (k: number) => bytes.readUInt32BE(start + k * 12) * 2 ** 32 + bytes.readUInt32BE(start + k * 12 + 4);
    // An entry 3 s after the one before whose time has bit 11 set: clearing it moves the time back 2.048 s,
    // still after the entry before it.
    let k = 1;
    while (k < entries && !(Math.floor(time(k) / 2048) % 2 === 1)) k++;
    expect(k).toBeLessThan(entries);
    const rel = bytes.readUInt32BE(start + k * 12 + 8);
    const entryTime = time(k);
    bytes[start + k * 12 + 6] = bytes[start + k * 12 + 6]! ^ 0x08;
    await writeFile(timeFile, bytes);

    const log = await openEmbeddedLog(options);
    // The record just before entry k's: 1.5 s before entry k's time, after its damaged time.
    const byTime = await log.read('s', SHARD, { type: 'AT_TIMESTAMP', timestamp: entryTime - 1500 }, { maxRecords: 1 });
    expect(byTime.records.map((r) => r.sequenceNumber)).toEqual([seqs[rel - 1]]);
    await log.close();
  });
});
