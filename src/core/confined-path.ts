/**
 * Paths that a request names, kept inside the one directory they may come from: no absolute path elsewhere,
 * no `..` out of it, and no symbolic link that leads out of it (the real path is what is checked, and what
 * the caller then opens).
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from './errors.ts';

/**
 * The real path of `requested` (relative to `root`, or absolute) when it lies inside `root`; throws
 * PATH_NOT_ALLOWED naming both otherwise. A missing file fails as `realpath` does (ENOENT), for the caller
 * to report as it reports any unreadable file. `what` names the path in the message, e.g. `reference table plazas`.
 */
export async function resolveInside(root: string, requested: string, what: string): Promise<string> {
  const absoluteRoot = path.resolve(root);
  const lexical = path.resolve(absoluteRoot, requested);
  if (!isInside(absoluteRoot, lexical)) throw notAllowed(requested, absoluteRoot, what);
  const [realRoot, real] = await Promise.all([realpath(absoluteRoot), realpath(lexical)]);
  if (!isInside(realRoot, real)) throw notAllowed(requested, absoluteRoot, what, real);
  return real;
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}

function notAllowed(requested: string, root: string, what: string, real?: string): TollstreamError {
  const how = real === undefined ? 'is outside' : `leads through a symbolic link to ${real}, outside`;
  return new TollstreamError('PATH_NOT_ALLOWED', `${what}: the path ${requested} ${how} the directory files may come from, ${root}; put the file there and name it relative to it`, {
    context: { path: requested, allowedDir: root, ...(real === undefined ? {} : { realPath: real }) },
  });
}
