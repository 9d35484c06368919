/**
 * This node's copy of the deployed functions' built modules: `<dir>/<name>/v<version>.mjs`, each checked against the
 * SHA-256 its definition names before a worker loads it.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/durable-files.ts';
import { sha256, type StoredDefinition } from './definitions.ts';

/** A built handler module is one file; this bounds what a request may store. */
export const MAX_CODE_BYTES = 8 * 1024 * 1024;

export class FunctionModules {
  constructor(private readonly dir: string) {}

  file(name: string, version: number): string {
    return path.join(this.dir, name, `v${version}.mjs`);
  }

  /** Stores the module of a version and returns its SHA-256; refuses what is not a module's text, or too large. */
  async store(name: string, version: number, code: unknown): Promise<string> {
    if (typeof code !== 'string' || code.trim() === '') {
      throw new TollstreamError('INVALID_ARGUMENT', 'code must be the handler module as text', { context: { field: 'code' } });
    }
    if (Buffer.byteLength(code) > MAX_CODE_BYTES) {
      throw new TollstreamError('PAYLOAD_TOO_LARGE', `the handler module is ${Buffer.byteLength(code)} bytes; the limit is ${MAX_CODE_BYTES}`, { context: { function: name } });
    }
    await mkdir(path.join(this.dir, name), { recursive: true });
    await writeFileAtomic(this.file(name, version), code);
    return sha256(code);
  }

  /** The same module as a new version. */
  async copy(name: string, from: number, to: number): Promise<void> {
    await writeFileAtomic(this.file(name, to), await readFile(this.file(name, from)));
  }

  read(name: string, version: number): Promise<string> {
    return readFile(this.file(name, version), 'utf8');
  }

  /** Whether this node holds the module `definition` names, intact. */
  async holds(definition: StoredDefinition): Promise<boolean> {
    const local = await readFile(this.file(definition.name, definition.version)).catch(() => undefined);
    return local !== undefined && sha256(local) === definition.codeSha256;
  }

  /** Refuses (STATE_CORRUPT) a module whose bytes are not the ones deployed. */
  async verify(definition: StoredDefinition): Promise<void> {
    const file = this.file(definition.name, definition.version);
    if (sha256(await readFile(file)) !== definition.codeSha256) {
      throw new TollstreamError('STATE_CORRUPT', `the module of function '${definition.name}' (${file}) is damaged: its SHA-256 is not the one deployed; deploy it again`, {
        context: { function: definition.name, file },
      });
    }
  }

  /** Removes one version's module, or every module of the function. */
  async remove(name: string, version?: number): Promise<void> {
    await rm(version === undefined ? path.join(this.dir, name) : this.file(name, version), { recursive: true, force: true });
  }
}
