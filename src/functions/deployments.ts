/**
 * Deployed functions: handler modules that users attach to streams at run time (`/v1/functions`, `tollstream
 * functions ...`, the config file's `functions.deploy`), without touching Tollstream's source. Each one is an
 * event source mapping on the functions runtime whose handler runs in worker threads (handler-pool.ts).
 *
 * Definitions live in `<dir>/definitions` (a checksummed state file) and each built module in
 * `<dir>/<name>/v<version>.mjs`, checked against its SHA-256 when loaded; both come back after a restart.
 * The mapping's name is the function's name, so its checkpoints (consumer `function:<name>`) carry over an
 * update: the old version finishes its batch in flight and commits its checkpoint, the new one starts there.
 */
import crypto from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { writeFileAtomic } from '../core/durable-files.ts';
import { decodeStateFile, writeStateFile, type StateFormat } from '../core/state-file.ts';
import type { Tables } from '../tables/index.ts';
import { HandlerPool } from './handler-pool.ts';
import type { PostgresWorkerTables } from './protocol.ts';
import { consumerName } from './shard-worker.ts';
import type { FunctionsRuntime } from './runtime.ts';
import { FunctionLogs, type FunctionLogLine } from './logs.ts';
import { assertFunctionName, checkFunctionSettings, functionLimits, mappingSettings, type FunctionSettings } from './settings.ts';
import type { MappingStats } from './types.ts';

const DEFINITIONS_FORMAT: StateFormat = { kind: 'function-definitions', version: 1 };
/** A built handler module is one file; this bounds what a request may store. */
export const MAX_CODE_BYTES = 8 * 1024 * 1024;

export interface DeployRequest {
  readonly name: string;
  readonly stream: string;
  /** The handler as one ES module (`bundleHandler` builds one from a TypeScript or JavaScript file). */
  readonly code: string;
  readonly settings?: FunctionSettings;
}

export interface UpdateRequest {
  /** A new version of the module; absent, the current one stays. */
  readonly code?: string;
  /** Settings to change; the others keep their values (`null` puts one back to its default). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** Where a definition came from: a request, or the config file (which the server makes it match at start). */
export type FunctionSource = 'api' | 'config';

interface StoredDefinition {
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

export interface FunctionInfo {
  readonly name: string;
  readonly stream: string;
  /** `failed`: it should run but could not start (`startError` says why). */
  readonly state: 'running' | 'paused' | 'failed';
  readonly version: number;
  readonly codeSha256: string;
  readonly source: FunctionSource;
  readonly settings: FunctionSettings;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Counters since this version started (or the server did). */
  readonly stats?: Omit<MappingStats, 'name' | 'stream' | 'lastFailure'>;
  readonly lastFailure?: { readonly at: string; readonly message: string; readonly code?: string };
  /** Worker threads running now. */
  readonly workers: number;
  readonly startError?: string;
}

export interface FunctionDeploymentsOptions {
  /** Where definitions and built modules are kept. */
  readonly dir: string;
  /** The tables database file the handlers' workers open (the one `tables` is open on). */
  readonly tablesPath: string;
  readonly tables: Tables;
  readonly runtime: FunctionsRuntime;
  readonly logs: FunctionLogs;
  /** Called after a handler committed on its worker's connection: notifications may be waiting. */
  readonly onCommit?: () => void;
  /**
   * Set on a node of a cluster. The handlers' workers commit to the tables in PostgreSQL that the nodes share
   * (`postgres`, fenced by the shards' leases) instead of `tablesPath`, and a function's checkpoints there outlive
   * its deletion on one node (the others may still run it). Definitions are each node's own, so only the config
   * file's `functions.deploy` (the same on every node) may deploy, update or delete: the API's changes are refused
   * (`FUNCTION_NOT_ON_CLUSTER`), and a function once deployed through the API does not start.
   */
  readonly cluster?: { readonly node: string; readonly postgres: PostgresWorkerTables };
  readonly logger?: Logger;
  readonly now?: () => number;
}

interface Live {
  definition: StoredDefinition;
  pool: HandlerPool | undefined;
  startError: string | undefined;
  /** The last failure of a version no longer running, kept for describe. */
  lastFailure: MappingStats['lastFailure'];
}

export class FunctionDeployments {
  readonly #options: FunctionDeploymentsOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #live = new Map<string, Live>();
  /** Changes run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: FunctionDeploymentsOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  /** Reads the stored definitions and starts every one not paused. A damaged definitions file is refused (STATE_CORRUPT). */
  async open(): Promise<void> {
    await mkdir(this.#options.dir, { recursive: true });
    for (const definition of await this.#readDefinitions()) {
      this.#live.set(definition.name, { definition, pool: undefined, startError: undefined, lastFailure: undefined });
      this.#options.logs.track(definition.name);
      if (!definition.paused) await this.#start(this.#live.get(definition.name)!);
    }
  }

  /** Stops every function (batches in flight finish first) and their workers. */
  async close(): Promise<void> {
    await this.#serial(async () => {
      for (const live of this.#live.values()) await this.#stop(live);
    });
  }

  deploy(request: DeployRequest, source: FunctionSource = 'api'): Promise<FunctionInfo> {
    return this.#serial(async () => {
      this.#refuseOnCluster(request.name, source);
      assertFunctionName(request.name);
      if (typeof request.stream !== 'string' || request.stream === '') throw invalid('stream must name a stream', 'stream');
      const settings = checkFunctionSettings(request.name, request.stream, request.settings ?? {});
      if (this.#live.has(request.name)) {
        throw new TollstreamError('FUNCTION_EXISTS', `function '${request.name}' already exists; update it, or delete it first`, { context: { function: request.name } });
      }
      const now = this.#now();
      const definition: StoredDefinition = { name: request.name, stream: request.stream, settings, version: 1, codeSha256: await this.#storeCode(request.name, 1, request.code), paused: false, source, createdAt: now, updatedAt: now };
      const live: Live = { definition, pool: undefined, startError: undefined, lastFailure: undefined };
      this.#options.logs.track(definition.name);
      try {
        await this.#start(live, { throwOnError: true });
      } catch (err) {
        this.#options.logs.forget(definition.name);
        await rm(path.join(this.#options.dir, definition.name), { recursive: true, force: true });
        throw err;
      }
      this.#live.set(definition.name, live);
      await this.#writeDefinitions();
      this.#logger.info('function deployed', { function: definition.name, stream: definition.stream, version: 1 });
      return this.#info(live);
    });
  }

  /** A new version (code, settings or both): the running one drains its batch in flight, the new one starts at its checkpoint. */
  update(name: string, request: UpdateRequest, source?: FunctionSource): Promise<FunctionInfo> {
    return this.#serial(async () => {
      const live = this.#get(name);
      this.#refuseOnCluster(name, source ?? 'api');
      const old = live.definition;
      const merged: Record<string, unknown> = { ...old.settings };
      for (const [k, v] of Object.entries(request.settings ?? {})) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      const settings = checkFunctionSettings(name, old.stream, merged);
      const version = old.version + 1;
      const codeSha256 = request.code === undefined ? old.codeSha256 : await this.#storeCode(name, version, request.code);
      if (request.code === undefined) await this.#copyCode(name, old.version, version);
      const definition: StoredDefinition = { ...old, settings, version, codeSha256, source: source ?? old.source, updatedAt: this.#now() };
      try {
        // Loaded once before the running version stops: a module that does not load changes nothing.
        await this.#tryLoad(definition);
      } catch (err) {
        await rm(this.#codeFile(name, version), { force: true });
        throw err;
      }
      await this.#stop(live);
      live.definition = definition;
      if (!definition.paused) await this.#start(live);
      await this.#writeDefinitions();
      await rm(this.#codeFile(name, old.version), { force: true });
      this.#logger.info('function updated', { function: name, version });
      return this.#info(live);
    });
  }

  pause(name: string): Promise<FunctionInfo> {
    return this.#serial(async () => {
      const live = this.#get(name);
      await this.#stop(live);
      live.definition = { ...live.definition, paused: true, updatedAt: this.#now() };
      await this.#writeDefinitions();
      return this.#info(live);
    });
  }

  resume(name: string): Promise<FunctionInfo> {
    return this.#serial(async () => {
      const live = this.#get(name);
      this.#refuseOnCluster(name, live.definition.source);
      live.definition = { ...live.definition, paused: false, updatedAt: this.#now() };
      if (!live.pool) await this.#start(live);
      await this.#writeDefinitions();
      return this.#info(live);
    });
  }

  /**
   * Stops the function and forgets it: its definition, its modules and its checkpoints (on a cluster node, which
   * forgets only its own copy, the shared checkpoints stay). Its table items stay.
   */
  delete(name: string, source: FunctionSource = 'api'): Promise<void> {
    return this.#serial(async () => {
      const live = this.#get(name);
      this.#refuseOnCluster(name, source);
      await this.#stop(live);
      this.#live.delete(name);
      await this.#writeDefinitions();
      if (this.#options.cluster === undefined) this.#options.tables.deleteCheckpoints(consumerName(name));
      this.#options.runtime.forget(name);
      this.#options.logs.forget(name);
      await rm(path.join(this.#options.dir, name), { recursive: true, force: true });
      this.#logger.info('function deleted', { function: name });
    });
  }

  list(): FunctionInfo[] {
    return [...this.#live.values()].sort((a, b) => (a.definition.name < b.definition.name ? -1 : 1)).map((l) => this.#info(l));
  }

  describe(name: string): FunctionInfo {
    return this.#info(this.#get(name));
  }

  logs(name: string, limit = 100): readonly FunctionLogLine[] {
    this.#get(name);
    return this.#options.logs.tail(name, limit);
  }

  /**
   * Makes the functions declared in the config file run as declared: new ones are deployed, changed ones
   * updated, and ones the config declared before but no longer does are deleted. Functions deployed through
   * the API are left alone (a config entry of the same name is refused).
   */
  async reconcile(declared: readonly (DeployRequest & { readonly handler: string })[]): Promise<void> {
    const names = new Set(declared.map((d) => d.name));
    for (const d of declared) {
      const live = this.#live.get(d.name);
      if (!live) {
        await this.deploy(d, 'config');
        continue;
      }
      if (live.definition.source !== 'config') {
        throw new TollstreamError('CONFIG_INVALID', `functions.deploy declares '${d.name}', which was deployed through the API; delete it first or rename the entry`, {
          context: { key: 'functions.deploy', function: d.name },
        });
      }
      if (live.definition.stream !== d.stream) {
        throw new TollstreamError('CONFIG_INVALID', `functions.deploy: '${d.name}' reads stream '${live.definition.stream}'; a function cannot change its stream (delete it and deploy it anew)`, {
          context: { key: 'functions.deploy', function: d.name },
        });
      }
      const sameCode = sha256(d.code) === live.definition.codeSha256;
      const sameSettings = JSON.stringify(sorted(checkFunctionSettings(d.name, d.stream, d.settings ?? {}))) === JSON.stringify(sorted(live.definition.settings));
      if (!sameCode || !sameSettings) {
        const reset = Object.fromEntries(Object.keys(live.definition.settings).map((k) => [k, null]));
        await this.update(d.name, { ...(sameCode ? {} : { code: d.code }), settings: { ...reset, ...d.settings } }, 'config');
      }
    }
    for (const live of [...this.#live.values()]) {
      if (live.definition.source === 'config' && !names.has(live.definition.name)) await this.delete(live.definition.name, 'config');
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** On a cluster node, only the config file deploys, changes and deletes functions (see `cluster`). */
  #refuseOnCluster(name: string, source: FunctionSource): void {
    const node = this.#options.cluster?.node;
    if (node === undefined || source === 'config') return;
    throw new TollstreamError(
      'FUNCTION_NOT_ON_CLUSTER',
      `function '${name}': on a node of a cluster (this is node '${node}') functions are deployed, changed and deleted through functions.deploy in every node's config file, not through the API: the definitions are each node's own, and every node must run the same version`,
      { context: { function: name, node } },
    );
  }

  #get(name: string): Live {
    const live = this.#live.get(name);
    if (!live) throw new TollstreamError('NOT_FOUND', `function '${name}' does not exist; 'tollstream functions list' lists them`, { context: { function: name } });
    return live;
  }

  #codeFile(name: string, version: number): string {
    return path.join(this.#options.dir, name, `v${version}.mjs`);
  }

  async #storeCode(name: string, version: number, code: unknown): Promise<string> {
    if (typeof code !== 'string' || code.trim() === '') throw invalid('code must be the handler module as text', 'code');
    if (Buffer.byteLength(code) > MAX_CODE_BYTES) {
      throw new TollstreamError('PAYLOAD_TOO_LARGE', `the handler module is ${Buffer.byteLength(code)} bytes; the limit is ${MAX_CODE_BYTES}`, { context: { function: name } });
    }
    await mkdir(path.join(this.#options.dir, name), { recursive: true });
    await writeFileAtomic(this.#codeFile(name, version), code);
    return sha256(code);
  }

  async #copyCode(name: string, from: number, to: number): Promise<void> {
    await writeFileAtomic(this.#codeFile(name, to), await readFile(this.#codeFile(name, from)));
  }

  /** Loads the module in a worker once, so a module that does not load is refused before anything changes. */
  async #tryLoad(definition: StoredDefinition): Promise<void> {
    const pool = this.#pool(definition);
    try {
      await pool.probe();
    } finally {
      await pool.close();
    }
  }

  #pool(definition: StoredDefinition): HandlerPool {
    const { timeoutMs, memoryMiB } = functionLimits(definition.settings);
    const name = definition.name;
    return new HandlerPool({
      name,
      codeFile: this.#codeFile(name, definition.version),
      tablesPath: this.#options.tablesPath,
      ...(this.#options.cluster ? { postgres: this.#options.cluster.postgres } : {}),
      timeoutMs,
      memoryMiB,
      onLog: (line) => this.#options.logs.add(name, { ...line, source: 'handler' }),
      onCommit: () => this.#options.onCommit?.(),
    });
  }

  async #start(live: Live, options: { throwOnError?: boolean } = {}): Promise<void> {
    const { definition } = live;
    const pool = this.#pool(definition);
    try {
      this.#refuseOnCluster(definition.name, definition.source);
      await this.#verifyCode(definition);
      await pool.probe();
      await this.#options.runtime.start({ ...mappingSettings(definition.settings), name: definition.name, stream: definition.stream, handler: pool.handler });
    } catch (err) {
      await pool.close();
      if (options.throwOnError) throw err;
      live.startError = err instanceof Error ? err.message : String(err);
      this.#logger.error('a deployed function could not start', { function: definition.name, err: err instanceof Error ? err : String(err) });
      return;
    }
    live.pool = pool;
    live.startError = undefined;
  }

  async #stop(live: Live): Promise<void> {
    const stats = this.#stats(live.definition.name);
    if (stats?.lastFailure) live.lastFailure = stats.lastFailure;
    await this.#options.runtime.stop(live.definition.name);
    await live.pool?.close();
    live.pool = undefined;
  }

  async #verifyCode(definition: StoredDefinition): Promise<void> {
    const file = this.#codeFile(definition.name, definition.version);
    const actual = sha256(await readFile(file));
    if (actual !== definition.codeSha256) {
      throw new TollstreamError('STATE_CORRUPT', `the module of function '${definition.name}' (${file}) is damaged: its SHA-256 is not the one deployed; deploy it again`, {
        context: { function: definition.name, file },
      });
    }
  }

  #stats(name: string): MappingStats | undefined {
    return this.#options.runtime.stats().find((s) => s.name === name);
  }

  #info(live: Live): FunctionInfo {
    const d = live.definition;
    const stats = live.pool ? this.#stats(d.name) : undefined;
    const failure = stats?.lastFailure ?? live.lastFailure;
    let counters: FunctionInfo['stats'];
    if (stats) {
      const { name: _name, stream: _stream, lastFailure: _failure, ...rest } = stats;
      counters = rest;
    }
    return {
      name: d.name,
      stream: d.stream,
      state: d.paused ? 'paused' : live.pool ? 'running' : 'failed',
      version: d.version,
      codeSha256: d.codeSha256,
      source: d.source,
      settings: d.settings,
      createdAt: new Date(d.createdAt).toISOString(),
      updatedAt: new Date(d.updatedAt).toISOString(),
      ...(counters ? { stats: counters } : {}),
      ...(failure ? { lastFailure: { at: new Date(failure.at).toISOString(), message: failure.message, ...(failure.code ? { code: failure.code } : {}) } } : {}),
      workers: live.pool?.size ?? 0,
      ...(live.startError !== undefined && !d.paused ? { startError: live.startError } : {}),
    };
  }

  get #definitionsFile(): string {
    return definitionsFile(this.#options.dir);
  }

  #readDefinitions(): Promise<StoredDefinition[]> {
    return readDefinitions(this.#definitionsFile);
  }

  /**
   * Whether `dir` (a `FunctionDeployments` directory) keeps a function the config file declared: on a cluster node
   * the only kind that starts (see `cluster`), so a node without one, nor any declared, needs no shared tables.
   */
  static async keepsDeclared(dir: string): Promise<boolean> {
    return (await readDefinitions(definitionsFile(dir))).some((d) => d.source === 'config');
  }

  async #writeDefinitions(): Promise<void> {
    const functions = [...this.#live.values()].map((l) => l.definition);
    await writeStateFile(this.#definitionsFile, DEFINITIONS_FORMAT, JSON.stringify({ functions }, null, 2) + '\n');
  }
}

function definitionsFile(dir: string): string {
  return path.join(dir, 'definitions');
}

async function readDefinitions(file: string): Promise<StoredDefinition[]> {
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

function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function sorted(settings: FunctionSettings): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function invalid(message: string, field: string): TollstreamError {
  return new TollstreamError('INVALID_ARGUMENT', message, { context: { field } });
}
