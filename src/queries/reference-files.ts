/**
 * The files of the reference directory as the API manages them, so reference data reaches a query without a
 * shell on the server: listed, written whole (atomically: a running query never reads half a file) and removed.
 * A name is one plain file name, so no request can write or remove anything outside the directory.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../core/durable-files.ts';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';

/** One path segment: letters, digits, `_`, `-`, `.`, not starting with a dot (no `..`, no hidden files). */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export interface ReferenceFileInfo {
  readonly name: string;
  readonly bytes: number;
  readonly modifiedAt: string;
}

export class ReferenceFiles {
  constructor(readonly dir: string) {}

  /** The regular files directly in the directory, by name. */
  async list(): Promise<ReferenceFileInfo[]> {
    const entries = await this.io('list', () => readdir(this.dir, { withFileTypes: true }));
    const files: ReferenceFileInfo[] = [];
    for (const e of entries) {
      if (!e.isFile() || !FILE_NAME.test(e.name)) continue;
      const s = await stat(path.join(this.dir, e.name)).catch(() => undefined);
      if (s) files.push({ name: e.name, bytes: s.size, modifiedAt: s.mtime.toISOString() });
    }
    return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Writes `content` as the file `name`, replacing it whole; queries reading it reload it at their next check. */
  async put(name: string, content: Uint8Array): Promise<ReferenceFileInfo> {
    const file = this.file(name);
    await this.io(name, async () => {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(file, content);
    });
    const s = await stat(file);
    return { name, bytes: s.size, modifiedAt: s.mtime.toISOString() };
  }

  /** Removes the file `name`; NOT_FOUND when there is none. Queries reading it keep their last rows. */
  async remove(name: string): Promise<void> {
    const file = this.file(name);
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) throw new TollstreamError('NOT_FOUND', `there is no reference file '${name}'; GET /v1/reference/files lists them`, { context: { file: name } });
    await this.io(name, () => rm(file));
  }

  private file(name: string): string {
    if (typeof name !== 'string' || !FILE_NAME.test(name)) {
      throw new TollstreamError('INVALID_ARGUMENT', `reference file name ${JSON.stringify(String(name).slice(0, 140))} is not valid: use 1 to 128 letters, digits, '_', '-' or '.', not starting with '.' (one file name, no directories)`, {
        context: { file: name },
      });
    }
    return path.join(this.dir, name);
  }

  private async io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isTollstreamError(err)) throw err;
      throw new TollstreamError('IO_ERROR', `reference file ${what}: ${(err as Error).message}`, { context: { file: what, dir: this.dir }, cause: err });
    }
  }
}
