/**
 * The segment files a log keeps open, at most `max` of them: a handle is opened on first use and the least
 * recently used idle one is closed when another must open past the cap. A log with thousands of shards (or
 * readers going back through old segments) thus holds a bounded number of file descriptors; a writer or
 * reader whose handle was closed opens it again on its next use.
 *
 * The cap is soft: a handle in use (a write, an fsync, a read in flight) is never closed under its user, so
 * when every open handle is busy the next one opens anyway and the count falls back as they go idle.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** A file the cache can hold open: the cache keeps its handle state on it. */
export interface CachedFile {
  readonly path: string;
  handle: FileHandle | undefined;
  opening: Promise<FileHandle> | undefined;
  /** Operations using the handle now; the cache never closes a handle in use. */
  users: number;
  /** Set by `close` while the handle is in use: it is closed when its last user is done. */
  closeWhenIdle?: boolean;
}

/** True for the errors of a process or system out of file descriptors: nothing was written, a retry can work. */
export function isOutOfFileDescriptors(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

export class OpenFiles {
  readonly max: number;
  /** Files with an open (or opening) handle, least recently used first. */
  private readonly lru = new Map<CachedFile, true>();

  constructor(max: number) {
    this.max = max;
  }

  /** Runs `fn` with the file's handle, opening it first if it is closed. */
  async use<T>(file: CachedFile, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    file.users++;
    try {
      return await fn(await this.acquire(file));
    } finally {
      file.users--;
      if (file.users === 0 && file.closeWhenIdle) void this.close(file);
      // Many files opened at once (a flush on every shard) pass the cap; it is restored as they go idle.
      if (this.lru.size > this.max) void this.evictIdle(this.lru.size - this.max);
    }
  }

  /** Closes the file's handle (it opens again on the next `use`); a handle in use is closed once its users are done. */
  async close(file: CachedFile): Promise<void> {
    if (file.users > 0) {
      file.closeWhenIdle = true;
      return;
    }
    file.closeWhenIdle = false;
    const fh = file.handle ?? (file.opening ? await file.opening.catch(() => undefined) : undefined);
    file.handle = undefined;
    file.opening = undefined;
    this.lru.delete(file);
    await fh?.close().catch(() => undefined);
  }

  private async acquire(file: CachedFile): Promise<FileHandle> {
    if (this.lru.has(file)) {
      // Most recently used goes last.
      this.lru.delete(file);
      this.lru.set(file, true);
    }
    if (file.handle) return file.handle;
    if (file.opening) return file.opening;
    this.lru.set(file, true);
    const opening = this.openEvicting(file).then(
      (fh) => {
        if (file.opening === opening) file.handle = fh;
        return fh;
      },
      (err: unknown) => {
        if (file.opening === opening) {
          file.opening = undefined;
          this.lru.delete(file);
        }
        throw err;
      },
    );
    file.opening = opening;
    return opening;
  }

  private async openEvicting(file: CachedFile): Promise<FileHandle> {
    await this.evictIdle(this.lru.size - this.max);
    try {
      return await open(file.path, 'r+');
    } catch (err) {
      if (!isOutOfFileDescriptors(err)) throw err;
      // The process (or system) ran out of descriptors, maybe for other reasons (many connections): give back
      // every idle handle of ours and try once more; a second failure is the caller's to retry later.
      await this.evictIdle(this.lru.size);
      return open(file.path, 'r+');
    }
  }

  /** Closes up to `count` idle handles, least recently used first. */
  private async evictIdle(count: number): Promise<void> {
    if (count <= 0) return;
    const victims: CachedFile[] = [];
    for (const f of this.lru.keys()) {
      if (victims.length >= count) break;
      if (f.users === 0 && f.handle) victims.push(f);
    }
    await Promise.all(victims.map((f) => this.close(f)));
  }
}
