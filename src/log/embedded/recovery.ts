/**
 * Opening a shard's segments after a clean or unclean shutdown.
 *
 * - Sealed segments (all but the last) were fsynced before the next one was created, so they must be whole:
 *   their index files are loaded (or rebuilt) and the batch framing after the last index entry is walked to
 *   the end of the file; any break is `LOG_CORRUPT`. Their CRCs are checked when read.
 * - The last segment is read whole and every batch's CRC is checked. At the first bad batch:
 *   - a valid batch after it: acknowledged data is damaged in the middle; the open stops with `LOG_CORRUPT`
 *     naming the file and byte position;
 *   - a torn tail (fewer bytes than a header, a batch whose length runs past the end of the file, or zeros to
 *     the end): bytes written after the last fsync, never acknowledged under `fsync: 'always'`. They are saved
 *     to `<segment>.log.torn-<position>` and the segment is truncated there; the next record takes the offset
 *     the torn batch had;
 *   - anything else (a complete batch with a bad CRC, magic or offset): an acknowledged batch, damaged, whose
 *     records a consumer may have read. It is quarantined: saved to `<segment>.log.damaged-<position>`, cut
 *     from the segment, and its offsets stay reserved by starting a new segment after them, so no offset a
 *     consumer saw is ever handed out again. Reads skip the gap between the two segments.
 */
import { open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { BATCH_HEADER_BYTES, checkBatch, LENGTH_PREFIX_BYTES, MAGIC, RecordCursor } from '../batch.ts';
import { crc32c } from '../../core/crc32c.ts';
import { fsyncDir, ioError, isDiskFull, writeFileDurably } from './files.ts';
import { Segment, SEGMENT_FILE, segmentFileName } from './segment.ts';

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
  /** A closed shard's end offset (from its metadata): a quarantined batch reserves no offset past it. */
  readonly endOffset?: number;
}

/** Opens the segments of a shard directory, oldest first (possibly none, for a drained closed shard). */
export async function recoverSegments(options: RecoverOptions): Promise<Segment[]> {
  const { dir, indexIntervalBytes, context } = options;
  let all: string[];
  try {
    all = await readdir(dir);
  } catch (err) {
    throw ioError('listing a shard directory', err, { ...context, file: dir });
  }
  const names = all.filter((n) => SEGMENT_FILE.test(n)).sort();
  const segments: Segment[] = [];
  for (const [i, name] of names.entries()) {
    const seg = new Segment(dir, Number(SEGMENT_FILE.exec(name)![1]), indexIntervalBytes);
    const prev = segments[segments.length - 1];
    // The only gap allowed: the offsets a quarantined batch keeps reserved, saved beside the segment before it.
    const quarantined = prev !== undefined && prev.nextOffset < seg.baseOffset && all.some((n) => n.startsWith(`${path.basename(prev.path)}.damaged-`));
    if (prev && prev.nextOffset !== seg.baseOffset && !quarantined) {
      throw corrupt(seg.path, 0, `segment starts at offset ${seg.baseOffset} but the previous one ends at ${prev.nextOffset}`, context);
    }
    segments.push(seg);
    if (i < names.length - 1) {
      await openSealed(seg, context);
    } else {
      const after = await openLast(seg, options);
      if (after) segments.push(after);
    }
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

/** How the bytes from `position` to the end of the last segment came to be bad. */
function classifyTail(buf: Buffer, position: number): 'torn' | 'damaged' {
  const rest = buf.length - position;
  if (rest < BATCH_HEADER_BYTES) return 'torn';
  // A file system may extend a file before the data reaches the disk; the crash leaves zeros.
  if (buf.subarray(position).every((b) => b === 0)) return 'torn';
  const size = LENGTH_PREFIX_BYTES + buf.readUInt32BE(position + 8);
  if (buf[position + 12] === MAGIC && size >= BATCH_HEADER_BYTES && position + size > buf.length) {
    // Runs past the end: the write stopped part way, unless only the length (outside the CRC) is damaged.
    const whole = crc32c(buf, position + 17, buf.length) === buf.readUInt32BE(position + 13);
    return whole ? 'damaged' : 'torn';
  }
  return 'damaged';
}

/** The fewest bytes a record takes (attributes, timestamp delta, key length, one key byte, data length). */
const MIN_RECORD_BYTES = 9;

/** The most records `bytes` bytes of batches can hold (at least one, to reserve something). */
function mostRecordsIn(bytes: number): number {
  return Math.max(1, Math.floor((bytes - BATCH_HEADER_BYTES) / MIN_RECORD_BYTES));
}

/**
 * How many offsets the damaged bytes from `position` to the end may have held records for: the first batch's
 * record count when its records walk exactly to its end (the count is then right) plus the most records the
 * bytes after it can hold; else the most records all of them can hold. Never fewer than were handed out.
 */
function offsetsHeld(buf: Buffer, position: number): number {
  const end = buf.length;
  const most = mostRecordsIn(end - position);
  const check = checkBatch(buf, position, end, false);
  if (!check.ok || check.header.recordCount > most || check.header.recordCount === 0) return most;
  const batchEnd = position + check.header.size;
  const cursor = new RecordCursor();
  cursor.reset(buf, position, { ...check.header, baseOffset: 0 });
  let last = position + BATCH_HEADER_BYTES;
  try {
    while (cursor.next()) {
      if (cursor.dataEnd > batchEnd || cursor.recordStart !== last) return most;
      last = cursor.dataEnd;
    }
  } catch {
    return most;
  }
  if (last !== batchEnd) return most;
  return check.header.recordCount + (end - batchEnd > BATCH_HEADER_BYTES ? mostRecordsIn(end - batchEnd) : 0);
}

/** Opens the last segment, repairing its tail; returns the segment started after a quarantined batch, if any. */
async function openLast(seg: Segment, options: RecoverOptions): Promise<Segment | undefined> {
  const { logger, context } = options;
  const size = (await stat(seg.path)).size;
  const buf = await readRegion(seg.path, 0, size, context);
  const failure = scan(seg, buf, 0, true);
  if (!failure) return undefined;
  if (validBatchAfter(buf, failure.position, seg.nextOffset)) throw corrupt(seg.path, failure.position, failure.detail, context);
  const kind = classifyTail(buf, failure.position);
  const savedTo = `${seg.path}.${kind}-${failure.position}`;
  const firstOffset = seg.nextOffset;
  let reservedEnd = firstOffset + offsetsHeld(buf, failure.position);
  if (options.endOffset !== undefined) reservedEnd = Math.max(firstOffset, Math.min(reservedEnd, options.endOffset));
  const next = kind === 'damaged' && reservedEnd > firstOffset ? new Segment(options.dir, reservedEnd, options.indexIntervalBytes) : undefined;
  try {
    await writeFileDurably(savedTo, buf.subarray(failure.position));
    const fh = await open(seg.path, 'r+');
    try {
      await fh.truncate(failure.position);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (next) {
      const created = await open(next.path, 'w');
      try {
        await created.sync();
      } finally {
        await created.close();
      }
      await fsyncDir(options.dir);
    }
  } catch (err) {
    if (kind === 'torn' && isDiskFull(err)) {
      // The shard reads up to the valid end and cuts the rest before its first write (Shard.trimTail): a full
      // disk must not keep the server from starting and serving reads. A damaged complete batch is not cut
      // that way: its offsets must stay reserved, so the open stops below instead.
      logger.warn('an incomplete batch ends a segment but the disk is full: it is neither saved nor cut now; the shard cuts it before its next write', {
        ...context,
        file: seg.path,
        offset: failure.position,
        bytes: buf.length - failure.position,
      });
      return undefined;
    }
    throw ioError(kind === 'torn' ? 'truncating a torn segment tail' : 'setting a damaged batch aside', err, { ...context, file: seg.path, offset: failure.position });
  }
  const fields = { ...context, file: seg.path, offset: failure.position, bytes: buf.length - failure.position, reason: failure.detail, savedTo: path.basename(savedTo) };
  if (kind === 'torn') {
    logger.warn('truncated an incomplete batch at the end of a segment (an interrupted write); the bytes are saved beside it', fields);
    return undefined;
  }
  logger.error(
    'a complete batch at the end of a segment is damaged: its records are set aside and their offsets stay reserved (never handed out again); restore them from a backup if you have one',
    { ...fields, firstOffset, reservedOffsets: reservedEnd - firstOffset, nextSegment: next ? segmentFileName(next.baseOffset) : undefined },
  );
  return next;
}

/** Segment files and damaged batches saved beside them: every file that may hold acknowledged records (torn tails never were). */
const RECORD_FILE = /^\d{20}\.log(\.damaged-\d+)?$/;

/** Counts the files under `dir` (a stream or a shard directory) that hold record bytes, and those bytes. */
async function recordFilesUnder(dir: string, depth = 2): Promise<{ files: number; bytes: number }> {
  const found = { files: 0, bytes: 0 };
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw ioError('listing a directory of the log', err, { file: dir });
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 1) {
      const inner = await recordFilesUnder(full, depth - 1);
      found.files += inner.files;
      found.bytes += inner.bytes;
    } else if (entry.isFile() && RECORD_FILE.test(entry.name)) {
      const size = (await stat(full)).size;
      if (size > 0) {
        found.files++;
        found.bytes += size;
      }
    }
  }
  return found;
}

/**
 * Removes a directory that an unfinished operation left behind (a create or a reshard stopped before its
 * metadata was written), but only when it holds no record: recovery never deletes records. Otherwise the
 * open stops with `LOG_CORRUPT` naming the directory and `remedy`.
 */
export async function removeIfNoRecords(dir: string, what: string, remedy: string, logger: Logger, context: Record<string, unknown>): Promise<void> {
  const { files, bytes } = await recordFilesUnder(dir);
  if (bytes > 0) {
    throw new TollstreamError('LOG_CORRUPT', `${dir} ${what}, but holds ${bytes} bytes of records in ${files} files; records are never deleted at recovery: ${remedy}`, {
      context: { ...context, file: dir, bytes },
    });
  }
  logger.warn('removing a directory that holds no record, left by an operation that did not finish', { ...context, file: dir, reason: `it ${what}` });
  await rm(dir, { recursive: true, force: true });
}
