/**
 * One shard of the embedded log: its segments, the group-commit writer and reads.
 *
 * Group commit: `enqueue` stamps the batch's offsets and queues it; one flush loop per shard takes
 * everything queued, writes it with one `writev` and (under `fsync: 'always'`) one `fdatasync`, then
 * makes it readable and resolves the appends. Batches queued while a flush is in flight go together in
 * the next one, so one fsync covers many appends.
 */
import { mkdir, open, statfs } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { TollstreamError } from '../../core/errors.ts';
import { checkBatch, forEachRecord, LENGTH_PREFIX_BYTES, setBaseOffset } from '../batch.ts';
import type { BatchHeader, DecodedRecord } from '../batch.ts';
import { fsyncDir, ioError, isDiskFull, writeAll } from './files.ts';
import { isOutOfFileDescriptors } from './open-files.ts';
import type { OpenFiles } from './open-files.ts';
import { readFully, Segment } from './segment.ts';
import { SequenceRun, sequencePrefix } from '../sequence.ts';
import type { StoredRecord } from '../types.ts';
import { storedRecordsOf } from './read.ts';

export interface ShardWriterOptions {
  readonly fsync: 'always' | 'interval';
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
  /** Called with each fsync's duration in ms. */
  readonly onFsync: (ms: number) => void;
  /** Called after the shard rolled to a new segment (retention runs then). */
  readonly onRoll: () => Promise<void>;
  /** The log's cache of open segment files. */
  readonly files: OpenFiles;
  /** Called once when a write or fsync fails and the shard stops taking writes. */
  readonly onFailed: (shardId: string, err: TollstreamError) => void;
  /** Called once when a failed shard verified its files again and takes writes (`failedMs`: how long it was failed). */
  readonly onHealed: (shardId: string, failedMs: number) => void;
}

/** Why a shard refuses writes now, and since when (ms since the epoch). */
export interface WriteFailure {
  /** The write or fsync error that failed the shard. */
  readonly error: TollstreamError;
  /** What appends get while the shard is failed. */
  readonly refusal: TollstreamError;
  readonly since: number;
  /** Bytes the failed write tried to write (0 for an fsync or a roll). */
  readonly bytes: number;
}

/** Free space a shard failed by a full disk waits for before it takes writes again, besides its failed write's size. */
const HEAL_MIN_FREE_BYTES = 1024 * 1024;

/** First wait before a failed shard tries to verify its files and take writes again; doubles up to the max. */
const HEAL_FIRST_DELAY_MS = 200;
const HEAL_MAX_DELAY_MS = 10_000;

interface QueuedBatch {
  readonly buf: Buffer;
  readonly header: BatchHeader;
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A batch just made durable, kept in memory for readers at the tail. Several consumers follow each stream
 * closely (functions, queries, delivery); each used to read the batch back from the file, check its CRC and
 * decode it. Kept here, the batch is decoded once, on the first read, and its records are shared by every
 * reader (they are immutable: `StoredRecord` is read-only and nobody writes into `data`).
 */
interface TailBatch {
  readonly buf: Buffer;
  readonly header: BatchHeader;
  records: StoredRecord[] | undefined;
}

function copyExact(buf: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(copy);
  return copy;
}

/** Bytes of recent batches each shard keeps for tail readers; older reads go to the segment files. */
const TAIL_CACHE_BYTES = 2 * 1024 * 1024;
const READ_CHUNK = 64 * 1024;
const noop = (): void => undefined;
const MAX_READ_CHUNK = 16 * 1024 * 1024;
/** Read size of whole-shard scans: large enough that a read per chunk costs little next to its records. */
const SCAN_CHUNK = 4 * 1024 * 1024;

export class Shard {
  readonly stream: string;
  readonly shardId: string;
  readonly index: number;
  readonly dir: string;
  readonly segments: Segment[];
  /** Offset the next enqueued record gets. */
  nextOffset: number;
  /** Offset after the last readable (durable) record. */
  visibleNextOffset: number;
  /** Arrival time of the newest record; arrival times never go backwards within a shard. */
  lastTimestamp: number;
  /** Set when a reshard closed the shard: the offset after its last record. */
  endOffset: number | undefined;

  /** Formats this shard's sequence numbers. */
  readonly sequences: SequenceRun;
  recordsIn = 0;
  bytesIn = 0;
  duplicatesDropped = 0;
  /** Times a write or fsync failed the shard. */
  writeFailures = 0;

  private readonly options: ShardWriterOptions;
  private queue: QueuedBatch[] = [];
  private flushing: Promise<void> | undefined;
  private gate: Promise<void> | undefined;
  private dirty = false;
  /** Set while the shard refuses writes after a failed write or fsync; cleared when it heals. */
  private failed: WriteFailure | undefined;
  /** Bytes of the active segment known to be on stable storage. */
  private syncedSize: number;
  private healTimer: NodeJS.Timeout | undefined;
  private healDelayMs = HEAL_FIRST_DELAY_MS;
  private closing = false;
  /** Times queued appends were failed, and the last error: a waiter for a record not yet readable then fails too. */
  private rejections = 0;
  private lastRejection: TollstreamError | undefined;
  /** Whether bytes past the active segment's readable end (left by an interrupted write) are cut. */
  private tailTrimmed = false;
  private waiters: Array<() => void> = [];
  private tail: TailBatch[] = [];
  private tailBytes = 0;
  /** Formats the sequence numbers of the tail readers' records (apart from `sequences`, which appends use). */
  private readonly tailSequences: SequenceRun;

  constructor(stream: string, shardId: string, index: number, dir: string, segments: Segment[], options: ShardWriterOptions) {
    this.stream = stream;
    this.shardId = shardId;
    this.index = index;
    this.dir = dir;
    this.segments = segments;
    this.options = options;
    this.sequences = new SequenceRun(sequencePrefix(index));
    this.tailSequences = new SequenceRun(sequencePrefix(index));
    const last = segments[segments.length - 1];
    this.nextOffset = last ? last.nextOffset : 0;
    this.visibleNextOffset = this.nextOffset;
    this.lastTimestamp = last && !Number.isNaN(last.maxTimestamp) ? last.maxTimestamp : 0;
    this.endOffset = undefined;
    this.syncedSize = last ? last.size : 0;
    for (const seg of segments) seg.files = options.files;
  }

  /** Why the shard refuses writes, while it does. */
  get failure(): WriteFailure | undefined {
    return this.failed;
  }

  /** Creates the directory and first segment of a new shard. */
  static async createFiles(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const seg = new Segment(dir, 0, 1);
    const fh = await open(seg.path, 'w');
    await fh.sync();
    await fh.close();
    await fsyncDir(dir);
  }

  /** Oldest retained offset. */
  get firstOffset(): number {
    return this.segments[0]?.baseOffset ?? this.endOffset ?? this.nextOffset;
  }

  get storedBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  get isClosed(): boolean {
    return this.endOffset !== undefined;
  }

  /** Holds flushes until `gate` settles (new reshard children wait for the metadata naming them). */
  holdUntil(gate: Promise<void>): void {
    this.gate = gate;
  }

  /** Arrival time for records appended now: never before the shard's newest record. */
  arrivalTime(now: number): number {
    return now > this.lastTimestamp ? now : this.lastTimestamp;
  }

  /** Queues an encoded batch; its records get offsets now, `done` settles when they are durable. */
  enqueue(buf: Buffer, recordCount: number, timestamp: number): { baseOffset: number; done: Promise<void> } {
    if (this.failed) return { baseOffset: -1, done: Promise.reject(this.failed.refusal) };
    const baseOffset = this.nextOffset;
    setBaseOffset(buf, baseOffset);
    this.nextOffset += recordCount;
    this.lastTimestamp = timestamp;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const header: BatchHeader = { baseOffset, size: buf.length, recordCount, firstTimestamp: timestamp, maxTimestamp: timestamp };
    this.queue.push({ buf, header, done, resolve, reject });
    this.recordsIn += recordCount;
    this.bytesIn += buf.length;
    this.flushing ??= this.flushLoop();
    return { baseOffset, done };
  }

  /** Settles when everything queued so far is durable (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Closes the shard for writes at its current end (after a reshard). */
  closeForWrites(): number {
    this.endOffset = this.nextOffset;
    this.wake();
    return this.endOffset;
  }

  private async flushLoop(): Promise<void> {
    let rolled = false;
    try {
      if (this.gate) await this.gate;
      while (this.queue.length > 0) {
        if (this.failed) {
          this.rejectQueued(this.failed.refusal, []);
          return;
        }
        let seg = this.segments[this.segments.length - 1]!;
        if (seg.size >= this.options.segmentBytes) {
          seg = await this.roll(seg);
          rolled = true;
        }
        const group: QueuedBatch[] = [];
        let bytes = 0;
        while (this.queue.length > 0) {
          const next = this.queue[0]!;
          if (group.length > 0 && seg.size + bytes + next.buf.length > this.options.segmentBytes) break;
          group.push(next);
          bytes += next.buf.length;
          this.queue.shift();
        }
        try {
          await seg.withFile(async (fh) => {
            if (!this.tailTrimmed) await this.trimTail(fh, seg);
            await writeAll(
              fh,
              group.map((b) => b.buf),
              seg.size,
            );
            if (this.options.fsync === 'always') {
              const t0 = performance.now();
              await fh.datasync();
              this.options.onFsync(performance.now() - t0);
            } else {
              this.dirty = true;
            }
          });
        } catch (err) {
          this.writeFailed(ioError('appending to a segment', err, { stream: this.stream, shardId: this.shardId, file: seg.path, offset: seg.size }), group);
          return;
        }
        let pos = seg.size;
        for (const b of group) {
          seg.noteBatch(pos, b.header);
          pos += b.header.size;
        }
        if (this.options.fsync === 'always') this.syncedSize = seg.size;
        this.visibleNextOffset = seg.nextOffset;
        this.keepTail(group);
        for (const b of group) b.resolve();
        this.wake();
      }
    } catch (err) {
      this.writeFailed(ioError('rolling a segment', err, { stream: this.stream, shardId: this.shardId }), []);
    } finally {
      this.flushing = undefined;
      if (this.queue.length > 0 && !this.failed) this.flushing = this.flushLoop();
    }
    if (rolled) await this.options.onRoll().catch(() => undefined);
  }

  /**
   * Cuts bytes past the readable end of the active segment, once, before the first write into it: recovery
   * leaves them when the disk is too full to save them aside, and positional writes would not always cover them.
   */
  private async trimTail(fh: FileHandle, seg: Segment): Promise<void> {
    if ((await fh.stat()).size > seg.size) await fh.truncate(seg.size);
    this.tailTrimmed = true;
  }

  private keepTail(group: readonly QueuedBatch[]): void {
    for (const b of group) {
      // A batch is a view into a larger allocation (Node's shared pool for small ones, an upper-bound guess for
      // big ones); kept as it is, it would pin all of it. Much slack: keep an exact copy instead.
      const buf = b.buf.buffer.byteLength - b.buf.length > b.buf.length / 4 ? copyExact(b.buf) : b.buf;
      this.tail.push({ buf, header: b.header, records: undefined });
      this.tailBytes += buf.length;
    }
    while (this.tailBytes > TAIL_CACHE_BYTES && this.tail.length > 1) this.tailBytes -= this.tail.shift()!.buf.length;
  }

  /**
   * Reads like `read`, as stored records, when `fromOffset` is within the batches kept in memory; undefined
   * when it is older (the caller reads the files then).
   */
  readTail(fromOffset: number, maxRecords: number, maxBytes: number): { records: StoredRecord[]; nextOffset: number } | undefined {
    const tail = this.tail;
    let offset = Math.max(fromOffset, this.firstOffset);
    if (tail.length === 0 || offset < tail[0]!.header.baseOffset) return undefined;
    const end = this.visibleNextOffset;
    const records: StoredRecord[] = [];
    if (offset >= end) return { records, nextOffset: offset };
    // The newest batches are the likely ones: search from the end.
    let i = tail.length - 1;
    while (i > 0 && tail[i]!.header.baseOffset > offset) i--;
    let bytes = 0;
    for (; i < tail.length; i++) {
      const batch = tail[i]!;
      const batchRecords = (batch.records ??= this.decodeTail(batch));
      for (let k = offset - batch.header.baseOffset; k < batchRecords.length; k++) {
        const r = batchRecords[k]!;
        if (records.length >= maxRecords || (records.length > 0 && bytes + r.data.length > maxBytes)) return { records, nextOffset: offset };
        records.push(r);
        bytes += r.data.length;
        offset++;
      }
    }
    return { records, nextOffset: offset };
  }

  private decodeTail(batch: TailBatch): StoredRecord[] {
    return storedRecordsOf(batch.buf, 0, batch.header, this.tailSequences);
  }

  /**
   * A write, fsync or roll failed. Out of file descriptors, nothing was written: only the appends at hand fail
   * (retriable) and the shard stays writable. Any other failure leaves the file's tail unknown: the shard
   * refuses appends (acknowledging nothing it cannot prove durable) until `heal` has verified its files.
   */
  private writeFailed(err: TollstreamError, group: QueuedBatch[]): void {
    if (isOutOfFileDescriptors(err.cause)) {
      const code = (err.cause as NodeJS.ErrnoException).code;
      const refused = new TollstreamError(
        'IO_ERROR',
        `the server is out of file descriptors (${code}): shard ${this.shardId} of stream ${this.stream} could not open its segment, so the records were not stored; retry (and raise the open file limit, ulimit -n, or lower storage.maxOpenFiles)`,
        { context: err.context, cause: err },
      );
      this.rejectQueued(refused, group);
      // Nothing of these appends reached the file: their offsets go to the next ones.
      this.dropUnwrittenOffsets();
      return;
    }
    this.fail(err, group);
  }

  private fail(err: TollstreamError, group: QueuedBatch[]): void {
    if (!this.failed) {
      const since = Date.now();
      const refusal = new TollstreamError(
        'IO_ERROR',
        `shard ${this.shardId} of stream ${this.stream} refuses writes since ${new Date(since).toISOString()} (${err.message}); it retries by itself and takes writes again once the disk recovers`,
        { context: { ...err.context, stream: this.stream, shardId: this.shardId }, cause: err },
      );
      let bytes = 0;
      for (const b of group) bytes += b.buf.length;
      this.failed = { error: err, refusal, since, bytes };
      this.writeFailures++;
      this.options.onFailed(this.shardId, err);
      this.scheduleHeal();
    }
    this.rejectQueued(err, group);
  }

  private rejectQueued(err: TollstreamError, group: QueuedBatch[]): void {
    // Every record not yet readable is in `group` or queued: all of them fail (see whenDurable).
    this.rejections++;
    this.lastRejection = err;
    this.wake();
    for (const b of group) b.reject(err);
    for (const b of this.queue) b.reject(err);
    this.queue = [];
  }

  private scheduleHeal(): void {
    if (this.closing || this.healTimer) return;
    const delay = this.healDelayMs;
    this.healDelayMs = Math.min(delay * 2, HEAL_MAX_DELAY_MS);
    this.healTimer = setTimeout(() => {
      this.healTimer = undefined;
      void this.heal();
    }, delay).unref();
  }

  /**
   * Tries to take writes again after a failure: on a fresh file descriptor, cuts the active segment back to its
   * readable end (dropping whatever of the failed write reached the file), checks the batches not yet known to
   * be on stable storage, writes them again and fsyncs. Offsets of the failed appends (never readable) are given
   * out again. On failure it tries again later, waiting twice as long each time (up to 10 s).
   */
  private async heal(): Promise<void> {
    while (this.flushing) await this.flushing;
    const failed = this.failed;
    if (!failed || this.closing) return;
    const run = this.verifyActiveSegment(failed);
    this.flushing = run.then(noop, noop);
    try {
      await run;
    } catch {
      this.scheduleHeal();
      return;
    } finally {
      this.flushing = undefined;
    }
    this.failed = undefined;
    this.healDelayMs = HEAL_FIRST_DELAY_MS;
    this.options.onHealed(this.shardId, Date.now() - failed.since);
    if (this.queue.length > 0) this.flushing = this.flushLoop();
  }

  /**
   * Takes back the offsets of appends that failed (none of them readable). A shard a reshard closed meanwhile
   * ends at its last readable record then, so its readers reach the end (at reopen the end offset in the stream
   * metadata is corrected the same way).
   */
  private dropUnwrittenOffsets(): void {
    this.nextOffset = this.visibleNextOffset;
    if (this.endOffset !== undefined && this.endOffset > this.nextOffset) {
      this.endOffset = this.nextOffset;
      this.wake();
    }
  }

  private async verifyActiveSegment(failed: WriteFailure): Promise<void> {
    this.dropUnwrittenOffsets();
    const seg = this.segments[this.segments.length - 1];
    if (!seg) return;
    if (isDiskFull(failed.error.cause)) {
      // Cutting the failed write's bytes would free room for one small append and fail the next: wait for space.
      const fs = await statfs(this.dir);
      const free = fs.bavail * fs.bsize;
      if (free < failed.bytes + HEAL_MIN_FREE_BYTES) throw new Error(`${free} bytes free on the disk of ${this.dir}`);
    }
    // After a failed fsync the old descriptor may keep reporting the error (or may have lost it): check on a new
    // one, and drop the old one (once no read uses it).
    await seg.closeFile();
    const fh = await open(seg.path, 'r+');
    try {
      await fh.truncate(seg.size);
      const from = Math.min(this.syncedSize, seg.size);
      if (from < seg.size) {
        // Readable but not known durable (fsync 'interval'): check the batches and write them again.
        const buf = await readFully(fh, from, seg.size - from);
        for (let p = 0; p < buf.length; ) {
          const check = checkBatch(buf, p, buf.length, true);
          if (!check.ok) throw this.corrupt(seg, from + p, check.detail);
          p += check.header.size;
        }
        await writeAll(fh, [buf], from);
      }
      await fh.datasync();
      const { size } = await fh.stat();
      if (size !== seg.size) throw new Error(`segment ${seg.path} is ${size} bytes after truncating it to ${seg.size}`);
    } finally {
      await fh.close();
    }
    this.syncedSize = seg.size;
    this.dirty = false;
    this.tailTrimmed = true;
  }

  private async roll(old: Segment): Promise<Segment> {
    if (this.dirty || this.options.fsync === 'interval') await old.withFile((fh) => fh.datasync());
    const seg = new Segment(this.dir, old.nextOffset, this.options.indexIntervalBytes);
    seg.files = this.options.files;
    const created = await open(seg.path, 'w');
    await created.close();
    await fsyncDir(this.dir);
    this.segments.push(seg);
    this.syncedSize = 0;
    this.tailTrimmed = true;
    await old.writeIndexFiles().catch(() => undefined);
    await old.closeFile();
    return seg;
  }

  /**
   * Starts a new active segment when every record of the current one arrived before `cutoff`, so that
   * retention can delete it (it never deletes the active segment). Skipped while writes are in flight:
   * those records are new anyway.
   */
  async rollIfExpired(cutoff: number): Promise<void> {
    const seg = this.segments[this.segments.length - 1];
    if (!seg || this.isClosed || this.failed || this.flushing || seg.size === 0 || !(seg.maxTimestamp < cutoff)) return;
    // Holding `flushing` keeps appends queued (not written) until the new segment is in place.
    const run = this.roll(seg).then(noop, (err: unknown) => this.writeFailed(ioError('rolling a segment', err, { stream: this.stream, shardId: this.shardId }), []));
    this.flushing = run.finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0 && !this.failed) this.flushing = this.flushLoop();
    });
    await this.flushing;
  }

  /** Under `fsync: 'interval'`: flushes written data to stable storage. */
  async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.failed) return;
    this.dirty = false;
    const seg = this.segments[this.segments.length - 1];
    if (!seg) return;
    const upTo = seg.size;
    const t0 = performance.now();
    try {
      await seg.withFile((fh) => fh.datasync());
    } catch (err) {
      // Written records stay readable (fsync 'interval' acknowledged them); healing writes them again and fsyncs.
      if (isOutOfFileDescriptors(err)) this.dirty = true;
      else this.fail(ioError('flushing a segment', err, { stream: this.stream, shardId: this.shardId, file: seg.path }), []);
      return;
    }
    if (this.segments[this.segments.length - 1] === seg) this.syncedSize = Math.max(this.syncedSize, upTo);
    this.options.onFsync(performance.now() - t0);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once a record at `offset` is readable, the shard is closed and drained, or `signal` aborts. */
  waitForData(offset: number, signal: AbortSignal | undefined): Promise<void> {
    const drainedClosed = this.endOffset !== undefined && this.visibleNextOffset >= this.endOffset;
    if (this.visibleNextOffset > offset || drainedClosed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Resolves once the record at `offset` (already enqueued) is durable; rejects if its write failed. */
  async whenDurable(offset: number): Promise<void> {
    const rejections = this.rejections;
    while (this.visibleNextOffset <= offset) {
      if (this.failed) throw this.failed.refusal;
      // Its write failed and the offset goes to a later record: this one will never be readable.
      if (this.rejections !== rejections) throw this.lastRejection!;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Wakes every waiter (the log is closing or the shard is going away). */
  wakeAll(): void {
    this.wake();
  }

  private segmentFor(offset: number): number {
    const s = this.segments;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private corrupt(seg: Segment, position: number, detail: string): TollstreamError {
    return new TollstreamError('LOG_CORRUPT', `segment ${seg.path} is damaged at byte ${position} (${detail}); the records there cannot be read`, {
      context: { stream: this.stream, shardId: this.shardId, file: seg.path, offset: position },
    });
  }

  /**
   * Reads records from `fromOffset` (raised to the oldest retained one) up to the readable end, at most
   * `maxRecords` and about `maxBytes` of data (at least one record if any).
   */
  async read(fromOffset: number, maxRecords: number, maxBytes: number): Promise<{ records: DecodedRecord[]; nextOffset: number }> {
    const records: DecodedRecord[] = [];
    let bytes = 0;
    let full = false;
    let next = 0;
    // Enough for the limits at a typical record size; a short guess just costs another read.
    const chunk = Math.max(READ_CHUNK, Math.min(maxBytes, maxRecords * 1024, MAX_READ_CHUNK) + this.options.indexIntervalBytes);
    const walked = await this.walkBatches(fromOffset, chunk, (buf, pos, header, from) => {
      forEachRecord(buf, pos, header, (r) => {
        if (r.offset < from) return true;
        if (records.length >= maxRecords || (records.length > 0 && bytes + r.data.length > maxBytes)) {
          full = true;
          return false;
        }
        records.push(r);
        bytes += r.data.length;
        next = r.offset + 1;
        return true;
      });
      return !full;
    });
    return { records, nextOffset: full ? next : walked };
  }

  /**
   * Calls `visit` with each batch holding records from `fromOffset` (raised to the oldest retained one) to the
   * readable end, in order, CRC checked as by `read`, without decoding records: `visit` gets the buffer, the
   * batch's position in it and its header, and skips records below `from` itself. For whole-shard scans
   * (rebuilding a dedupe window at open), which `read` would turn into an object per record; the buffer is
   * only valid during the call.
   */
  async forEachBatch(fromOffset: number, visit: (buf: Buffer, pos: number, header: BatchHeader, from: number) => void): Promise<void> {
    await this.walkBatches(fromOffset, SCAN_CHUNK, (buf, pos, header, from) => {
      visit(buf, pos, header, from);
      return true;
    });
  }

  /**
   * The batches holding records from `fromOffset` (raised to the oldest retained one) to the readable end, read
   * from the segment files in chunks of about `chunkBytes`, each batch's framing and CRC checked (`LOG_CORRUPT`
   * naming the file and byte otherwise). `visit` gets the chunk, the batch's position in it, its header and the
   * offset reading has reached; it returns false to stop. Returns the offset after the last batch walked.
   */
  private async walkBatches(fromOffset: number, chunkBytes: number, visit: (buf: Buffer, pos: number, header: BatchHeader, from: number) => boolean): Promise<number> {
    let offset = Math.max(fromOffset, this.firstOffset);
    const end = this.visibleNextOffset;
    let stopped = false;
    while (!stopped && offset < end && this.segments.length > 0) {
      const at = this.segmentFor(offset);
      const seg = this.segments[at]!;
      if (offset >= seg.nextOffset) {
        // Offsets between two segments were reserved by a quarantined batch (recovery.ts): read on after them.
        const following = this.segments[at + 1];
        if (!following || following.baseOffset <= offset) break;
        offset = following.baseOffset;
        continue;
      }
      const before = offset;
      let pos = seg.positionFor(offset);
      while (!stopped && pos < seg.size && offset < end) {
        let want = Math.min(seg.size - pos, chunkBytes);
        let buf = await seg.readAt(pos, want);
        let check = checkBatch(buf, 0, buf.length, true);
        if (!check.ok && check.reason === 'truncated' && buf.length >= LENGTH_PREFIX_BYTES) {
          // A batch larger than the chunk: read exactly it.
          want = LENGTH_PREFIX_BYTES + buf.readUInt32BE(8);
          if (pos + want <= seg.size) {
            buf = await seg.readAt(pos, want);
            check = checkBatch(buf, 0, buf.length, true);
          }
        }
        if (!check.ok) throw this.corrupt(seg, pos, check.detail);
        let p = 0;
        while (p < buf.length) {
          const c = p === 0 ? check : checkBatch(buf, p, buf.length, true);
          if (!c.ok) {
            if (c.reason === 'truncated') break;
            throw this.corrupt(seg, pos + p, c.detail);
          }
          const h = c.header;
          if (h.baseOffset + h.recordCount > offset && !visit(buf, p, h, offset)) {
            stopped = true;
            break;
          }
          offset = Math.max(offset, h.baseOffset + h.recordCount);
          p += h.size;
        }
        pos += p;
      }
      if (!stopped && offset === before) break; // the segment's batches end before its recorded end: nothing more to read
    }
    return offset;
  }

  /** The offset of the first record that arrived at or after `timestamp` (the readable end if none). */
  async offsetForTime(timestamp: number): Promise<number> {
    for (const seg of this.segments) {
      if (!(seg.maxTimestamp >= timestamp)) continue;
      let pos = seg.positionForTime(timestamp);
      while (pos < seg.size) {
        const head = await seg.readAt(pos, 39);
        const c = checkBatch(head, 0, head.length, false);
        // The header alone is shorter than the batch; only its framing fields matter here.
        const size = LENGTH_PREFIX_BYTES + head.readUInt32BE(8);
        if (!c.ok && c.reason === 'invalid') throw this.corrupt(seg, pos, c.detail);
        const base = head.readUInt32BE(0) * 0x1_0000_0000 + head.readUInt32BE(4);
        const maxTs = head.readUInt32BE(31) * 0x1_0000_0000 + head.readUInt32BE(35);
        if (maxTs >= timestamp) {
          // Records of a batch share one arrival time, so the batch's first record is the answer.
          return Math.max(base, this.firstOffset);
        }
        pos += size;
      }
    }
    return this.visibleNextOffset;
  }

  /** Deletes whole segments, oldest first, while `shouldDelete` says so; the last is kept unless `all`. */
  async deleteOldSegments(shouldDelete: (seg: Segment, totalBytes: number) => boolean, all: boolean): Promise<number> {
    let deleted = 0;
    while (this.segments.length > (all ? 0 : 1)) {
      const seg = this.segments[0]!;
      if (!shouldDelete(seg, this.storedBytes)) break;
      this.segments.shift();
      await seg.delete();
      deleted++;
    }
    if (deleted > 0) await fsyncDir(this.dir).catch(() => undefined);
    return deleted;
  }

  /** Flushes, writes the active segment's index and releases the files. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.healTimer);
    this.healTimer = undefined;
    await this.drain();
    await this.syncIfDirty();
    this.wake();
    const last = this.segments[this.segments.length - 1];
    if (last && !this.failed) await last.writeIndexFiles().catch(() => undefined);
    await Promise.all(this.segments.map((s) => s.closeFile()));
  }
}
