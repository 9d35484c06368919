/**
 * One segment of a shard: `<baseOffset>.log` (batches back to back) with its sparse `.index`
 * (relativeOffset uint32, position uint32 per entry) and `.timeindex` (timestamp int64, relativeOffset
 * uint32 per entry). Both indexes get one entry per `indexIntervalBytes` of batches and are kept whole in
 * memory; the files only spare a scan at open, so they are written without fsync when the segment is
 * sealed or the log closes, and rebuilt from the segment when missing, damaged or behind. Each file is a
 * state file (a header line with a CRC32C, src/core/state-file.ts) before its entries.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { decodeStateFile, encodeStateFile } from '../../core/state-file.ts';
import type { StateFormat } from '../../core/state-file.ts';
import type { BatchHeader } from '../batch.ts';
import { ioError, isDiskFull } from './files.ts';
import type { CachedFile, OpenFiles } from './open-files.ts';

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export const SEGMENT_FILE = /^(\d{20})\.log$/;

const INDEX_FORMAT: StateFormat = { kind: 'segment-index', version: 1 };
const TIME_INDEX_FORMAT: StateFormat = { kind: 'segment-timeindex', version: 1 };

/** Reads `length` bytes at `position` (fewer at the end of the file). */
export async function readFully(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

export class Segment implements CachedFile {
  readonly baseOffset: number;
  readonly path: string;
  /** Offset after the last readable record. */
  nextOffset: number;
  /** Bytes of readable batches (the file may hold more that are not yet durable). */
  size = 0;
  firstTimestamp = Number.NaN;
  maxTimestamp = Number.NaN;
  private readonly indexIntervalBytes: number;
  private readonly relOffsets: number[] = [];
  private readonly positions: number[] = [];
  private readonly timestamps: number[] = [];
  private bytesSinceIndex = 0;
  handle: FileHandle | undefined;
  opening: Promise<FileHandle> | undefined;
  users = 0;
  /** The log's open-file cache; set by the shard that owns the segment. */
  files: OpenFiles | undefined;
  private deleted = false;

  constructor(dir: string, baseOffset: number, indexIntervalBytes: number) {
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.path = path.join(dir, segmentFileName(baseOffset));
    this.indexIntervalBytes = indexIntervalBytes;
  }

  get indexPath(): string {
    return this.path.replace(/\.log$/, '.index');
  }

  get timeIndexPath(): string {
    return this.path.replace(/\.log$/, '.timeindex');
  }

  get indexEntryCount(): number {
    return this.positions.length;
  }

  /** Position of the last indexed batch, where a scan to complete the index resumes. */
  get lastIndexedPosition(): number {
    return this.positions.length ? this.positions[this.positions.length - 1]! : 0;
  }

  /** Records a batch written at `position` (batches are noted in file order). */
  noteBatch(position: number, header: BatchHeader): void {
    if (this.positions.length === 0 || this.bytesSinceIndex >= this.indexIntervalBytes) {
      if (this.positions.length === 0 || position > this.positions[this.positions.length - 1]!) {
        this.relOffsets.push(header.baseOffset - this.baseOffset);
        this.positions.push(position);
        this.timestamps.push(header.firstTimestamp);
      }
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += header.size;
    if (Number.isNaN(this.firstTimestamp)) this.firstTimestamp = header.firstTimestamp;
    if (!(header.maxTimestamp <= this.maxTimestamp)) this.maxTimestamp = header.maxTimestamp;
    this.nextOffset = header.baseOffset + header.recordCount;
    this.size = position + header.size;
  }

  /** Forgets indexed batches at or past `position` (used before a rescan). */
  truncateIndex(position: number): void {
    while (this.positions.length && this.positions[this.positions.length - 1]! >= position) {
      this.positions.pop();
      this.relOffsets.pop();
      this.timestamps.pop();
    }
    this.bytesSinceIndex = this.indexIntervalBytes;
  }

  /** Forgets the index and every noted batch (before a walk of the whole segment). */
  resetIndex(): void {
    this.truncateIndex(0);
    this.nextOffset = this.baseOffset;
    this.size = 0;
    this.firstTimestamp = Number.NaN;
    this.maxTimestamp = Number.NaN;
    this.bytesSinceIndex = 0;
  }

  /** File position of a batch at or before the one holding `offset`. */
  positionFor(offset: number): number {
    const rel = offset - this.baseOffset;
    const r = this.relOffsets;
    let lo = 0;
    let hi = r.length - 1;
    if (hi < 0 || r[0]! > rel) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (r[mid]! <= rel) lo = mid;
      else hi = mid - 1;
    }
    return this.positions[lo]!;
  }

  /** File position of a batch at or before the first one with records at or after `timestamp`. */
  positionForTime(timestamp: number): number {
    const t = this.timestamps;
    let lo = 0;
    let hi = t.length - 1;
    if (hi < 0 || t[0]! >= timestamp) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (t[mid]! < timestamp) lo = mid;
      else hi = mid - 1;
    }
    return this.positions[lo]!;
  }

  /** Loads the index files; returns false (and keeps nothing) if they are missing or inconsistent. */
  async loadIndexFiles(fileSize: number): Promise<boolean> {
    let idx: Buffer;
    let tix: Buffer;
    try {
      const [idxFile, tixFile] = await Promise.all([readFile(this.indexPath), readFile(this.timeIndexPath)]);
      // A flipped bit that keeps the entries in order would send reads to the wrong batch: checksummed.
      // Files of the layout before checksums fail this too, and are rebuilt once.
      const [idxRead, tixRead] = [decodeStateFile(INDEX_FORMAT, idxFile), decodeStateFile(TIME_INDEX_FORMAT, tixFile)];
      if (!idxRead.ok || !tixRead.ok) return false;
      [idx, tix] = [idxRead.body, tixRead.body];
    } catch {
      return false;
    }
    const n = Math.min(Math.floor(idx.length / 8), Math.floor(tix.length / 12));
    const rel: number[] = [];
    const pos: number[] = [];
    const ts: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = idx.readUInt32BE(i * 8);
      const p = idx.readUInt32BE(i * 8 + 4);
      const t = tix.readUInt32BE(i * 12) * 0x1_0000_0000 + tix.readUInt32BE(i * 12 + 4);
      const tr = tix.readUInt32BE(i * 12 + 8);
      const ok = tr === r && p < fileSize && (i === 0 ? p === 0 && r === 0 : r > rel[i - 1]! && p > pos[i - 1]! && t >= ts[i - 1]!);
      if (!ok) return false;
      rel.push(r);
      pos.push(p);
      ts.push(t);
    }
    if (n === 0) return false;
    this.relOffsets.push(...rel);
    this.positions.push(...pos);
    this.timestamps.push(...ts);
    this.firstTimestamp = ts[0]!;
    this.bytesSinceIndex = this.indexIntervalBytes;
    return true;
  }

  /** Writes the index files (no fsync: they are rebuilt from the segment if lost). */
  async writeIndexFiles(): Promise<void> {
    const n = this.positions.length;
    const idx = Buffer.alloc(n * 8);
    const tix = Buffer.alloc(n * 12);
    for (let i = 0; i < n; i++) {
      idx.writeUInt32BE(this.relOffsets[i]!, i * 8);
      idx.writeUInt32BE(this.positions[i]!, i * 8 + 4);
      const t = this.timestamps[i]!;
      tix.writeUInt32BE(Math.floor(t / 0x1_0000_0000), i * 12);
      tix.writeUInt32BE(t >>> 0, i * 12 + 4);
      tix.writeUInt32BE(this.relOffsets[i]!, i * 12 + 8);
    }
    try {
      await Promise.all([writeFile(this.indexPath, encodeStateFile(INDEX_FORMAT, idx)), writeFile(this.timeIndexPath, encodeStateFile(TIME_INDEX_FORMAT, tix))]);
    } catch (err) {
      // The indexes only spare a scan: on a full disk go without them (the next open rebuilds them) rather
      // than keep the log from opening.
      if (isDiskFull(err)) {
        await Promise.all([rm(this.indexPath, { force: true }), rm(this.timeIndexPath, { force: true })]).catch(() => undefined);
        return;
      }
      throw ioError('writing a segment index', err, { file: this.indexPath });
    }
  }

  /** Runs `fn` with the segment's file handle (read-write, so the active segment's writer shares it). */
  async withFile<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    const files = this.files;
    if (!files) throw new Error(`segment ${this.path} is not attached to a shard`);
    try {
      return await files.use(this, fn);
    } finally {
      if (this.deleted && this.users === 0) void files.close(this);
    }
  }

  /** Reads `length` bytes at `position`, keeping the file open against a concurrent delete. */
  async readAt(position: number, length: number): Promise<Buffer> {
    try {
      return await this.withFile((fh) => readFully(fh, position, length));
    } catch (err) {
      throw ioError('reading a segment', err, { file: this.path, offset: position });
    }
  }

  async closeFile(): Promise<void> {
    await this.files?.close(this);
  }

  /** Removes the segment's files; an in-flight read finishes first. */
  async delete(): Promise<void> {
    this.deleted = true;
    await Promise.all([rm(this.path, { force: true }), rm(this.indexPath, { force: true }), rm(this.timeIndexPath, { force: true })]);
    if (this.users === 0) await this.closeFile();
  }
}
