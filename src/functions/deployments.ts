/**
 * Deployed functions: handler modules that users attach to streams at run time (`/v1/functions`, `tollstream
 * functions ...`, the config file's `functions.deploy`), without touching Tollstream's source. Each one is an
 * event source mapping on the functions runtime whose handler runs in worker threads (handler-pool.ts).
 *
 * Alone, definitions live in `<dir>/definitions` (a checksummed state file). On a cluster they are shared in
 * PostgreSQL (shared-definitions.ts): a change through any node is stored there, and every node reads them again
 * every `syncMs` and makes its own functions match. Each built module is kept in `<dir>/<name>/v<version>.mjs`
 * (on a cluster, fetched from PostgreSQL), checked against its SHA-256 when loaded.
 * The mapping's name is the function's name, so its checkpoints (consumer `function:<name>`) carry over an
 * update: the old version finishes its batch in flight and commits its checkpoint, the new one starts there.
 */
import { mkdir } from 'node:fs/promises';
import { TollstreamError, invalidField, isTollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { Tables } from '../tables/index.ts';
import { definitionsFile, readDefinitions, writeDefinitions, type FunctionSource, type StoredDefinition } from './definitions.ts';
import { HandlerPool } from './handler-pool.ts';
import { FunctionModules } from './modules.ts';
import type { PostgresWorkerTables } from './protocol.ts';
import { consumerName } from './shard-worker.ts';
import type { FunctionsRuntime } from './runtime.ts';
import { FunctionLogs, type FunctionLogLine } from './logs.ts';
import { assertFunctionName, checkFunctionSettings, functionLimits, mappingSettings, type FunctionSettings } from './settings.ts';
import { functionChanged, type SharedDefinition, type SharedDefinitions } from './shared-definitions.ts';
import type { MappingStats } from './types.ts';
import { reconcileDeclared } from './reconcile.ts';

export type { FunctionSource } from './definitions.ts';
export { MAX_CODE_BYTES } from './modules.ts';

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
   * (`postgres`, fenced by the shards' leases) instead of `tablesPath`. With `definitions` the definitions are
   * shared too: any node deploys, changes and deletes, every node runs what they say, and a deleted function's
   * checkpoints go once no node runs it. Without, they are this node's own, and a delete leaves the shared
   * checkpoints (other nodes may still run the function).
   */
  readonly cluster?: { readonly node: string; readonly postgres: PostgresWorkerTables; readonly definitions?: SharedDefinitions };
  /** How often a cluster node reads the shared definitions again, in ms. @default 1000 */
  readonly syncMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

interface Live {
  definition: StoredDefinition;
  /** The shared definition's revision this node runs (0 alone). */
  revision: number;
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
  readonly #modules: FunctionModules;
  /** Changes run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();
  #syncTimer: NodeJS.Timeout | undefined;
  /** Whether the last read of the shared definitions failed (said once per outage). */
  #syncFailing = false;

  constructor(options: FunctionDeploymentsOptions) {
    this.#options = options;
    this.#modules = new FunctionModules(options.dir);
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Reads the stored definitions and starts every one not paused. A damaged definitions file is refused
   * (STATE_CORRUPT). On a cluster the shared definitions are read, and then again every `syncMs`.
   */
  async open(): Promise<void> {
    await mkdir(this.#options.dir, { recursive: true });
    const shared = this.#shared;
    if (shared) {
      const own = await this.#readDefinitions();
      if (own.length > 0) {
        // From before the node joined the cluster, or before the nodes shared their definitions: the config file's entries are reconciled into the shared ones at start.
        this.#logger.warn('functions in this node\'s own definitions file do not run on a cluster, whose definitions are in PostgreSQL: deploy those not in functions.deploy again through any node', { functions: own.map((d) => d.name) });
      }
      await this.#serial(() => this.#sync(shared));
      this.#syncTimer = setInterval(() => void this.#serial(() => this.#sync(shared)).catch(() => undefined), this.#options.syncMs ?? 1000);
      return;
    }
    for (const definition of await this.#readDefinitions()) {
      this.#live.set(definition.name, { definition, revision: 0, pool: undefined, startError: undefined, lastFailure: undefined });
      this.#options.logs.track(definition.name);
      if (!definition.paused) await this.#start(this.#live.get(definition.name)!);
    }
  }

  /** Stops every function (batches in flight finish first) and their workers. */
  async close(): Promise<void> {
    clearInterval(this.#syncTimer);
    await this.#serial(async () => {
      for (const live of this.#live.values()) await this.#stop(live);
      await this.#shared?.unclaim().catch((err: unknown) => this.#logger.warn('could not tell the other nodes that this node stopped its functions; its claims expire on their own', { err }));
    });
  }

  deploy(request: DeployRequest, source: FunctionSource = 'api'): Promise<FunctionInfo> {
    return this.#serial(async () => {
      assertFunctionName(request.name);
      if (typeof request.stream !== 'string' || request.stream === '') throw invalidField('stream', 'stream must name a stream');
      const settings = checkFunctionSettings(request.name, request.stream, request.settings ?? {});
      if (this.#live.has(request.name)) {
        throw new TollstreamError('FUNCTION_EXISTS', `function '${request.name}' already exists; update it, or delete it first`, { context: { function: request.name } });
      }
      const now = this.#now();
      const definition: StoredDefinition = { name: request.name, stream: request.stream, settings, version: 1, codeSha256: await this.#modules.store(request.name, 1, request.code), paused: false, source, createdAt: now, updatedAt: now };
      const live: Live = { definition, revision: 1, pool: undefined, startError: undefined, lastFailure: undefined };
      const shared = this.#shared;
      this.#options.logs.track(definition.name);
      try {
        if (shared) {
          // Loaded once before it is stored: a module that does not load is refused before any node sees it.
          await this.#tryLoad(definition);
          await shared.create(definition, request.code);
          if (!(await shared.claim(definition.name))) throw functionChanged(definition.name);
        }
        await this.#start(live, { throwOnError: true });
      } catch (err) {
        this.#options.logs.forget(definition.name);
        await this.#modules.remove(definition.name);
        // Stored but unable to start (its stream is gone): taken back, as alone.
        if (shared && !isTollstreamError(err, 'FUNCTION_EXISTS')) await this.#withdraw(shared, definition.name);
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
      const live = await this.#current(name);
      const old = live.definition;
      const merged: Record<string, unknown> = { ...old.settings };
      for (const [k, v] of Object.entries(request.settings ?? {})) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      const settings = checkFunctionSettings(name, old.stream, merged);
      const version = old.version + 1;
      const codeSha256 = request.code === undefined ? old.codeSha256 : await this.#modules.store(name, version, request.code);
      if (request.code === undefined) await this.#modules.copy(name, old.version, version);
      const definition: StoredDefinition = { ...old, settings, version, codeSha256, source: source ?? old.source, updatedAt: this.#now() };
      try {
        // Loaded once before the running version stops: a module that does not load changes nothing.
        await this.#tryLoad(definition);
        await this.#shared?.replace(definition, live.revision, await this.#modules.read(name, version));
      } catch (err) {
        await this.#modules.remove(name, version);
        throw err;
      }
      await this.#switchVersion(live, definition, live.revision + 1);
      await this.#writeDefinitions();
      this.#logger.info('function updated', { function: name, version });
      return this.#info(live);
    });
  }

  pause(name: string): Promise<FunctionInfo> {
    return this.#serial(async () => {
      const live = await this.#current(name);
      const definition = { ...live.definition, paused: true, updatedAt: this.#now() };
      await this.#shared?.replace(definition, live.revision);
      await this.#stop(live);
      await this.#shared?.unclaim(name);
      live.definition = definition;
      live.revision++;
      await this.#writeDefinitions();
      return this.#info(live);
    });
  }

  resume(name: string): Promise<FunctionInfo> {
    return this.#serial(async () => {
      const live = await this.#current(name);
      const definition = { ...live.definition, paused: false, updatedAt: this.#now() };
      await this.#shared?.replace(definition, live.revision);
      live.definition = definition;
      live.revision++;
      if (!live.pool) await this.#claimAndStart(live);
      await this.#writeDefinitions();
      return this.#info(live);
    });
  }

  /**
   * Stops the function and forgets it: its definition, its modules and its checkpoints. On a cluster with shared
   * definitions every node stops it within `syncMs`, and its shared checkpoints go once none runs it; with
   * definitions of its own, a node forgets only its copy and the shared checkpoints stay. Its table items stay.
   */
  delete(name: string): Promise<void> {
    return this.#serial(async () => {
      const live = await this.#current(name);
      const shared = this.#shared;
      if (shared) await shared.markDeleted(name, live.revision);
      await this.#forget(live);
      await this.#writeDefinitions();
      if (this.#options.cluster === undefined) this.#options.tables.deleteCheckpoints(consumerName(name));
      if (shared) await this.#removeDeleted(shared);
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
   * Makes the functions declared in the config file run as declared (see `reconcileDeclared`). Functions deployed
   * through the API are left alone (a config entry of the same name is refused).
   */
  reconcile(declared: readonly DeployRequest[]): Promise<void> {
    return reconcileDeclared(this, declared);
  }

  /** Whether the definitions are shared by the nodes of a cluster (in PostgreSQL) rather than this node's own. */
  get sharesDefinitions(): boolean {
    return this.#shared !== undefined;
  }

  /** On a cluster, reads the shared definitions now and makes this node run what they say (as every `syncMs`). */
  async refresh(): Promise<void> {
    const shared = this.#shared;
    if (shared) await this.#serial(() => this.#sync(shared));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  get #shared(): SharedDefinitions | undefined {
    return this.#options.cluster?.definitions;
  }

  /**
   * The function as stored now. On a cluster it is read from the shared definitions first and applied here, so a
   * change is made from the latest revision (another node's change since the last sync included).
   */
  async #current(name: string): Promise<Live> {
    const shared = this.#shared;
    if (shared) {
      const row = await shared.get(name);
      if (row) await this.#apply(shared, row);
      else {
        const gone = this.#live.get(name);
        if (gone) await this.#forget(gone);
      }
    }
    return this.#get(name);
  }

  /** Reads the shared definitions and makes this node run what they say; then removes deleted functions no node runs. */
  async #sync(shared: SharedDefinitions): Promise<void> {
    try {
      const rows = await shared.list();
      const names = new Set(rows.map((r) => r.definition.name));
      for (const row of rows) await this.#apply(shared, row);
      for (const live of [...this.#live.values()]) if (!names.has(live.definition.name)) await this.#forget(live);
      // A claim gone while the function runs here (expired while PostgreSQL was out of reach): claimed again, or stopped.
      const claimed = await shared.refresh();
      for (const live of this.#live.values()) if (live.pool && !claimed.has(live.definition.name) && !(await shared.claim(live.definition.name))) await this.#forget(live);
      await this.#removeDeleted(shared);
      if (this.#syncFailing) this.#logger.info('reading the shared function definitions works again');
      this.#syncFailing = false;
    } catch (err) {
      if (!this.#syncFailing) this.#logger.warn('reading the shared function definitions failed; this node keeps running what it runs and tries again', { err });
      this.#syncFailing = true;
      throw err;
    }
  }

  /** Makes this node's copy of one function match its shared definition. */
  async #apply(shared: SharedDefinitions, row: SharedDefinition): Promise<void> {
    const { definition, revision } = row;
    const live = this.#live.get(definition.name);
    if (row.deleted) {
      if (live) await this.#forget(live);
      return;
    }
    if (live?.revision === revision) return;
    if (!live || live.definition.version !== definition.version) {
      // Another version (or a function new to this node): its module, unless it moved on meanwhile (the next sync takes that one).
      if (!(await this.#modules.holds(definition))) {
        const code = await shared.code(definition.name, definition.version);
        if (code === undefined) return;
        await this.#modules.store(definition.name, definition.version, code);
      }
    }
    if (!live) {
      const added: Live = { definition, revision, pool: undefined, startError: undefined, lastFailure: undefined };
      this.#live.set(definition.name, added);
      this.#options.logs.track(definition.name);
      if (!definition.paused) await this.#claimAndStart(added);
      this.#logger.info('function deployed through another node', { function: definition.name, version: definition.version });
      return;
    }
    if (live.definition.version !== definition.version) {
      await this.#switchVersion(live, definition, revision);
      this.#logger.info('function updated through another node', { function: definition.name, version: definition.version });
      return;
    }
    live.definition = definition;
    live.revision = revision;
    if (definition.paused && live.pool) {
      await this.#stop(live);
      await shared.unclaim(definition.name);
    } else if (!definition.paused && !live.pool) {
      await this.#claimAndStart(live);
    }
  }

  /** The running version drains its batch in flight and commits; `definition` starts at that checkpoint. */
  async #switchVersion(live: Live, definition: StoredDefinition, revision: number): Promise<void> {
    const old = live.definition;
    await this.#stop(live);
    live.definition = definition;
    live.revision = revision;
    if (!definition.paused) await this.#claimAndStart(live);
    await this.#modules.remove(definition.name, old.version);
  }

  /** Starts `live`; on a cluster only after claiming to run it (refused once it is deleted). */
  async #claimAndStart(live: Live): Promise<void> {
    const shared = this.#shared;
    if (shared && !(await shared.claim(live.definition.name))) return;
    await this.#start(live);
  }

  /** Stops the function here and forgets this node's copy (its module, logs, lag). */
  async #forget(live: Live): Promise<void> {
    const name = live.definition.name;
    await this.#stop(live);
    this.#live.delete(name);
    await this.#shared?.unclaim(name);
    this.#options.runtime.forget(name);
    this.#options.logs.forget(name);
    await this.#modules.remove(name);
  }

  async #removeDeleted(shared: SharedDefinitions): Promise<void> {
    for (const name of await shared.removeDeleted()) this.#logger.info('a deleted function no node runs any more was removed with its checkpoints', { function: name });
  }

  /** Takes back a function just stored that could not start here. */
  async #withdraw(shared: SharedDefinitions, name: string): Promise<void> {
    try {
      const row = await shared.get(name);
      if (row && !row.deleted) await shared.markDeleted(name, row.revision);
      await shared.unclaim(name);
      await this.#removeDeleted(shared);
    } catch (err) {
      this.#logger.warn('a function that could not start stays stored; delete it', { function: name, err });
    }
  }

  #get(name: string): Live {
    const live = this.#live.get(name);
    if (!live) throw new TollstreamError('NOT_FOUND', `function '${name}' does not exist; 'tollstream functions list' lists them`, { context: { function: name } });
    return live;
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
      codeFile: this.#modules.file(name, definition.version),
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
      await this.#modules.verify(definition);
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

  #readDefinitions(): Promise<StoredDefinition[]> {
    return readDefinitions(definitionsFile(this.#options.dir));
  }

  /** Alone, the definitions file; on a cluster with shared definitions, nothing (PostgreSQL holds them). */
  async #writeDefinitions(): Promise<void> {
    if (this.#shared) return;
    await writeDefinitions(definitionsFile(this.#options.dir), [...this.#live.values()].map((l) => l.definition));
  }
}
