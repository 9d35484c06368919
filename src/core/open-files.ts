/**
 * The process's soft limit on open files (`ulimit -n`): every connection, segment file and database takes one,
 * and running out of them fails whatever opens a file next.
 */
import fs from 'node:fs';

/**
 * The soft limit from `/proc/self/limits` (Linux), or undefined where the file does not exist or says
 * `unlimited`. `text` is that file's content, for tests.
 */
export function openFilesLimit(text: string | undefined = readProcLimits()): number | undefined {
  const line = text?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
}

function readProcLimits(): string | undefined {
  try {
    return fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
