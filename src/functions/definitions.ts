/**
 * A deployed function's definition, and the node's own file of them (`<dir>/definitions`, a checksummed state file)
 * for a node alone. On a cluster the definitions are shared in PostgreSQL instead (shared-definitions.ts).
 */
import crypto from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../core/errors.ts';
import { decodeStateFile, writeStateFile, type StateFormat } from '../core/state-file.ts';
import type { FunctionSettings } from './settings.ts';

const DEFINITIONS_FORMAT: StateFormat = { kind: 'function-definitions', version: 1 };

/** Where a definition came from: a request, or the config file (which the server makes it match at start). */
export type FunctionSource = 'api' | 'config';

export interface StoredDefinition {
  readonly name: string;
  readonly stream: string;
  readonly settings: FunctionSettings;
  readonly version: number;
  readonly codeSha256: string;
  readonly paused: boolean;
  readonly source: FunctionSource;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export function definitionsFile(dir: string): string {
  return path.join(dir, 'definitions');
}

export async function readDefinitions(file: string): Promise<StoredDefinition[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TollstreamError('IO_ERROR', `cannot read ${file}: ${(err as Error).message}`, { context: { file }, cause: err });
  }
  const read = decodeStateFile(DEFINITIONS_FORMAT, bytes);
  if (!read.ok) {
    throw new TollstreamError('STATE_CORRUPT', `the function definitions ${file} are damaged (${read.detail}); restore the file from a backup, or remove it to start without deployed functions`, {
      context: { file },
    });
  }
  return (JSON.parse(read.body.toString('utf8')) as { functions: StoredDefinition[] }).functions;
}

export async function writeDefinitions(file: string, functions: readonly StoredDefinition[]): Promise<void> {
  await writeStateFile(file, DEFINITIONS_FORMAT, JSON.stringify({ functions }, null, 2) + '\n');
}

export function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
