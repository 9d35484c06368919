/** File helpers of the embedded log (the durable-write ones come from src/core/durable-files.ts). */
import { open, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { TollstreamError } from '../../core/errors.ts';

export { fsyncDir, writeFileAtomic } from '../../core/durable-files.ts';

/** Writes all of `buffers` at `position`, continuing after short writes. */
export async function writeAll(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  const { bytesWritten } = await fh.writev(buffers, position);
  if (bytesWritten === total) return;
  // A short write is rare (a full disk, a signal); finish piece by piece from where it stopped.
  let skip = bytesWritten;
  let pos = position + bytesWritten;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    let rest = b.subarray(skip);
    skip = 0;
    while (rest.length > 0) {
      const r = await fh.write(rest, 0, rest.length, pos);
      if (r.bytesWritten === 0) throw new Error(`write made no progress at byte ${pos}`);
      pos += r.bytesWritten;
      rest = rest.subarray(r.bytesWritten);
    }
  }
}

export async function writeFileDurably(file: string, content: Uint8Array): Promise<void> {
  await writeFile(file, content);
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** True for the errors of a full disk (or a full quota). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Wraps a Node.js file system error as `IO_ERROR` with where it happened. */
export function ioError(what: string, err: unknown, context: Record<string, unknown>): TollstreamError {
  const reason = err instanceof Error ? err.message : String(err);
  return new TollstreamError('IO_ERROR', `${what} failed: ${reason}; check the disk and the permissions of the data directory`, {
    context,
    cause: err,
  });
}
