/**
 * Opening a shard's segments after a clean or unclean shutdown.
 *
 * - Sealed segments (all but the last) were fsynced before the next one was created, so they must be whole:
 *   their index files are loaded (or rebuilt) and the batch framing after the last index entry is walked to
 *   the end of the file; any break is `LOG_CORRUPT`. Their CRCs are checked when read.
 * - The last segment is read whole and every batch's CRC is checked. A bad batch with no valid batch after
 *   it is a torn write: the bytes from it to the end are saved to `<segment>.log.torn-<position>`, the
 *   segment is truncated there, and a warning is logged. A bad batch followed by a valid one is corruption
 *   of acknowledged data: the open stops with `LOG_CORRUPT` naming the file and byte position.
 */
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { checkBatch, MAGIC } from '../batch.ts';
import { ioError, isDiskFull, writeFileDurably } from './files.ts';
import { Segment, SEGMENT_FILE } from './segment.ts';

interface ScanFailure {
  readonly position: number;
  readonly detail: string;
}

/** Walks batches of `buf` (file bytes from `fileStart`), noting them in `seg`. Stops at the first bad one. */
function scan(seg: Segment, buf: Buffer, fileStart: number, verifyCrc: boolean): ScanFailure | undefined {
  let p = 0;
  while (p < buf.length) {
    const check = checkBatch(buf, p, buf.length, verifyCrc);
    if (!check.ok) return { position: fileStart + p, detail: check.detail };
    if (check.header.baseOffset !== seg.nextOffset) {
      return { position: fileStart + p, detail: `batch starts at offset ${check.header.baseOffset}, expected ${seg.nextOffset}` };
    }
    seg.noteBatch(fileStart + p, check.header);
    p += check.header.size;
  }
  return undefined;
}

/** True if a whole, valid batch starts anywhere after `from` (so the damage is not a torn tail). */
function validBatchAfter(buf: Buffer, from: number, minBaseOffset: number): boolean {
  for (let q = from + 1; q + 12 < buf.length; q++) {
    if (buf[q + 12] !== MAGIC) continue;
    const base = buf.readUInt32BE(q) * 0x1_0000_0000 + buf.readUInt32BE(q + 4);
    if (base < minBaseOffset || base > minBaseOffset + 0xffff_ffff) continue;
    if (checkBatch(buf, q, buf.length, true).ok) return true;
  }
  return false;
}

function corrupt(file: string, position: number, detail: string, context: Record<string, unknown>): TollstreamError {
  return new TollstreamError(
    'LOG_CORRUPT',
    `segment ${file} is damaged at byte ${position} (${detail}) with valid data after it; restore the shard from a backup or move the file aside to drop its data`,
    { context: { ...context, file, offset: position } },
  );
}

export interface RecoverOptions {
  readonly dir: string;
  readonly indexIntervalBytes: number;
  readonly logger: Logger;
  readonly context: Record<string, unknown>;
}

/** Opens the segments of a shard directory, oldest first (possibly none, for a drained closed shard). */
export async function recoverSegments(options: RecoverOptions): Promise<Segment[]> {
  const { dir, indexIntervalBytes, logger, context } = options;
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => SEGMENT_FILE.test(n)).sort();
  } catch (err) {
    throw ioError('listing a shard directory', err, { ...context, file: dir });
  }
  const segments: Segment[] = [];
  for (const [i, name] of names.entries()) {
    const seg = new Segment(dir, Number(SEGMENT_FILE.exec(name)![1]), indexIntervalBytes);
    const prev = segments[segments.length - 1];
    if (prev && prev.nextOffset !== seg.baseOffset) {
      throw corrupt(seg.path, 0, `segment starts at offset ${seg.baseOffset} but the previous one ends at ${prev.nextOffset}`, context);
    }
    if (i < names.length - 1) await openSealed(seg, context);
    else await openLast(seg, logger, context);
    segments.push(seg);
  }
  return segments;
}

async function readRegion(file: string, start: number, end: number, context: Record<string, unknown>): Promise<Buffer> {
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw ioError('reading a segment', err, { ...context, file });
  }
}

async function openSealed(seg: Segment, context: Record<string, unknown>): Promise<void> {
  const size = (await stat(seg.path)).size;
  const loaded = await seg.loadIndexFiles(size);
  const before = seg.indexEntryCount;
  let from = 0;
  if (loaded) {
    // Re-walk from the last indexed batch: it completes an index that is behind and checks it is not ahead.
    from = seg.lastIndexedPosition;
    const lastRel = await readRegion(seg.path, from, Math.min(size, from + 8), context);
    seg.truncateIndex(from);
    seg.nextOffset = lastRel.length === 8 ? lastRel.readUInt32BE(0) * 0x1_0000_0000 + lastRel.readUInt32BE(4) : seg.baseOffset;
    seg.size = from;
  }
  const buf = await readRegion(seg.path, from, size, context);
  let failure = scan(seg, buf, from, false);
  if (failure && from > 0) {
    // The index may be what is wrong: walk the whole segment before calling it damaged.
    seg.resetIndex();
    failure = scan(seg, await readRegion(seg.path, 0, size, context), 0, false);
  }
  if (failure) throw corrupt(seg.path, failure.position, failure.detail, context);
  if (!loaded || seg.indexEntryCount !== before) await seg.writeIndexFiles();
}

async function openLast(seg: Segment, logger: Logger, context: Record<string, unknown>): Promise<void> {
  const size = (await stat(seg.path)).size;
  const buf = await readRegion(seg.path, 0, size, context);
  const failure = scan(seg, buf, 0, true);
  if (!failure) return;
  if (validBatchAfter(buf, failure.position, seg.nextOffset)) throw corrupt(seg.path, failure.position, failure.detail, context);
  const savedTo = `${seg.path}.torn-${failure.position}`;
  try {
    await writeFileDurably(savedTo, buf.subarray(failure.position));
    const fh = await open(seg.path, 'r+');
    try {
      await fh.truncate(failure.position);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (isDiskFull(err)) {
      // The shard reads up to the valid end and cuts the rest before its first write (Shard.trimTail): a full
      // disk must not keep the server from starting and serving reads.
      logger.warn('an incomplete batch ends a segment but the disk is full: it is neither saved nor cut now; the shard cuts it before its next write', {
        ...context,
        file: seg.path,
        offset: failure.position,
        bytes: buf.length - failure.position,
      });
      return;
    }
    throw ioError('truncating a torn segment tail', err, { ...context, file: seg.path, offset: failure.position });
  }
  logger.warn('truncated an incomplete batch at the end of a segment (an interrupted write); the bytes are saved beside it', {
    ...context,
    file: seg.path,
    offset: failure.position,
    bytes: buf.length - failure.position,
    reason: failure.detail,
    savedTo: path.basename(savedTo),
  });
}
