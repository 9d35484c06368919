/**
 * Layered configuration: built-in defaults, then a config file (`tollstream.config.ts` or `.json`),
 * then `TOLLSTREAM_*` environment variables, then CLI flags. Each layer is checked on its own, so an
 * unknown or ill-typed key is reported with the layer it came from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TollstreamError } from '../core/errors.ts';
import { CLUSTER_DEFAULTS, DEFAULT_CONFIG, SCHEMA, type ConfigSection, type Setting, type TollstreamConfig } from './schema.ts';

export { DEFAULT_CONFIG, type ConfigOverrides, type ConfigProblem, type ConfigSection, type Setting, warehousePath, warehouseLimits, leaseTimings, lakeDir, referenceDir, type TollstreamConfig, type AccessKey, type DeclaredStream, type DeclaredFunction, type HttpLimits, type HttpSettings } from './schema.ts';
export { leaseStoreTimeoutMs } from './schema.ts';

export interface LoadConfigOptions {
  /** Where to look for `tollstream.config.{ts,json}`. @default process.cwd() */
  readonly cwd?: string;
  /** An explicit config file; overrides the search (and `TOLLSTREAM_CONFIG`). */
  readonly configFile?: string;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Dotted keys from CLI flags, e.g. `{ port: '4567', 'storage.fsync': 'interval' }`. */
  readonly flags?: Readonly<Record<string, unknown>>;
  /**
   * The config sections of the apps that will run, given the modules of the `apps` setting (so a user's app is
   * loaded before its settings are read). A key of no platform setting and no section is refused. @default none
   */
  readonly sections?: (appModules: readonly string[]) => Promise<readonly ConfigSection[]> | readonly ConfigSection[];
}

type Flat = Map<string, unknown>;

const ENV_PREFIX = 'TOLLSTREAM_';
/** Environment variables with a meaning of their own rather than a config key. */
const ENV_RESERVED = new Set(['TOLLSTREAM_CONFIG', 'TOLLSTREAM_ENDPOINT', 'TOLLSTREAM_API_KEY']);

/** `storage.fsyncIntervalMs` -> `TOLLSTREAM_STORAGE_FSYNC_INTERVAL_MS`; `delivery.bufferSizeMiB` -> `..._BUFFER_SIZE_MIB` */
export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/MiB/g, 'Mib').replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `cluster.natsServers` -> `cluster-nats-servers`; `warehouse.memoryLimitMiB` -> `warehouse-memory-limit-mib`: a setting's flag on `tollstream up`. */
export function flagName(key: string): string {
  return key.replace(/MiB/g, 'Mib').replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/\./g, '-').toLowerCase();
}

/** A platform setting as `tollstream up` offers it: its flag (`flagName`), the values it takes, its default. */
export interface SettingFlag {
  readonly flag: string;
  readonly key: string;
  /** What the flag's text must be, for help: `always, interval`, `an integer from 1 to 5`, `JSON`. */
  readonly takes: string;
  /** The default, as text; undefined for a setting unset by default. */
  readonly defaultText: string | undefined;
}

/** Every platform setting with its flag, in the schema's order. */
export function settingFlags(): readonly SettingFlag[] {
  return flagsOf(Object.keys(SCHEMA), PLATFORM);
}

/**
 * Every setting of the apps' `sections` with its flag (`alerts.windowSeconds` is `--alerts-window-seconds`), in
 * their order. Throws CONFIG_INVALID for sections the loader would refuse (see `loadConfig`'s `sections`).
 */
export function sectionFlags(sections: readonly ConfigSection[]): readonly SettingFlag[] {
  return flagsOf(
    sections.flatMap((section) => Object.keys(section.settings).map((key) => `${section.name}.${key}`)),
    schemaWith(sections),
  );
}

function flagsOf(keys: readonly string[], schema: Schema): SettingFlag[] {
  return keys.map((key) => {
    const fallback = schema.defaults.get(key) ?? (key.startsWith('cluster.') ? (CLUSTER_DEFAULTS as Record<string, unknown>)[key.slice('cluster.'.length)] : undefined);
    return { flag: flagName(key), key, takes: takes(schema.settings[key]!), defaultText: fallback === undefined ? undefined : typeof fallback === 'string' ? fallback : JSON.stringify(fallback) };
  });
}

function takes(setting: Setting): string {
  switch (setting.type) {
    case 'string':
      return 'text';
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `an integer from ${setting.min} to ${setting.max}`;
    case 'enum':
      return setting.values.join(', ');
    case 'json':
      return 'JSON';
  }
}

/** The settings a config is checked against: the platform's and those of the apps' sections, with their defaults. */
interface Schema {
  readonly settings: Readonly<Record<string, Setting>>;
  readonly keyByEnv: ReadonlyMap<string, string>;
  readonly defaults: Flat;
  /** The apps' sections, in the order given. */
  readonly sections: readonly ConfigSection[];
}

const PLATFORM = schemaWith([]);

function schemaWith(sections: readonly ConfigSection[]): Schema {
  const settings: Record<string, Setting> = { ...SCHEMA };
  const platformSections = new Set([...Object.keys(SCHEMA), ...Object.keys(DEFAULT_CONFIG)].map((k) => k.split('.')[0]!));
  const defaults: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const section of sections) {
    const context = { section: section.name };
    if (!/^[a-z][a-zA-Z0-9]{0,63}$/.test(section.name)) {
      throw configError(`an app's config section '${section.name}' must be a name of letters and digits starting with a lower-case letter`, context);
    }
    if (platformSections.has(section.name)) throw configError(`an app's config section '${section.name}' is a section of the platform's settings; name it otherwise`, context);
    if (section.name in defaults) throw configError(`two apps declare the config section '${section.name}'`, context);
    for (const [key, setting] of Object.entries(section.settings)) settings[`${section.name}.${key}`] = setting;
    defaults[section.name] = section.defaults;
    checkRequiresEnabled(section);
  }
  const keyByEnv = new Map<string, string>();
  for (const key of Object.keys(settings)) {
    const taken = keyByEnv.get(envName(key));
    // `httpHeaders.timeoutMs` of an app and the platform's `http.headersTimeoutMs` would share one variable.
    if (taken !== undefined) throw configError(`the settings '${taken}' and '${key}' would both be set by ${envName(key)}; rename one`, { key });
    keyByEnv.set(envName(key), key);
  }
  const schema = { settings, keyByEnv, defaults: new Map() as Flat, sections };
  return { ...schema, defaults: flatten(defaults, 'defaults', schema) };
}

/**
 * Refuses a section whose `requiresEnabled` names a setting it does not declare, or a switch that is no boolean
 * setting of the section or the platform: a misspelt pair would otherwise never be enforced.
 */
function checkRequiresEnabled(section: ConfigSection): void {
  const own = (key: string) => (key.startsWith(`${section.name}.`) ? section.settings[key.slice(section.name.length + 1)] : undefined);
  for (const [key, enabledKey] of section.requiresEnabled ?? []) {
    const context = { section: section.name, key, enabledKey };
    if (own(key) === undefined) {
      throw configError(`the config section '${section.name}' makes '${key}' require '${enabledKey}', but declares no setting '${key}'`, context);
    }
    const enabled = own(enabledKey) ?? SCHEMA[enabledKey];
    if (enabled?.type !== 'boolean') {
      throw configError(`the config section '${section.name}' makes '${key}' require '${enabledKey}', which is no boolean setting of the section or the platform`, context);
    }
  }
}

/** The modules of the `apps` setting, from the layer that sets it last, checked as the platform's setting. */
function appModules(file: Record<string, unknown> | undefined, fileName: string | undefined, env: Readonly<Record<string, string | undefined>>, flags: Readonly<Record<string, unknown>>): readonly string[] {
  const fromEnv = env[envName('apps')];
  if (flags.apps !== undefined) return (typeof flags.apps === 'string' ? parseText('apps', flags.apps, 'flag --apps', PLATFORM) : checkValue('apps', flags.apps, 'command line', PLATFORM)) as string[];
  if (fromEnv !== undefined) return parseText('apps', fromEnv, `environment variable ${envName('apps')}`, PLATFORM) as string[];
  if (file?.apps !== undefined) return checkValue('apps', file.apps, fileName!, PLATFORM) as string[];
  return DEFAULT_CONFIG.apps;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<TollstreamConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;

  const flags = options.flags ?? {};
  const file = findConfigFile(cwd, options.configFile ?? env.TOLLSTREAM_CONFIG);
  const fileValues = file === undefined ? undefined : await readConfigFile(file);
  const schema = options.sections === undefined ? PLATFORM : schemaWith(await options.sections(appModules(fileValues, file, env, flags)));

  const layers: Array<{ source: string; values: Flat }> = [];
  if (file && fileValues) layers.push({ source: file, values: flatten(fileValues, file, schema) });
  layers.push({ source: 'environment', values: fromEnv(env, schema) });
  layers.push({ source: 'command line', values: fromFlags(flags, schema) });

  const explicit: Flat = new Map();
  for (const layer of layers) for (const [k, v] of layer.values) explicit.set(k, v);
  checkConflicts(explicit, schema);

  const merged = new Map(schema.defaults);
  for (const [k, v] of explicit) merged.set(k, v);
  const config = unflatten(merged) as unknown as TollstreamConfig;
  const sections: Record<string, unknown> = {};
  for (const section of schema.sections) {
    // A section whose settings all lack defaults is absent until one is set.
    const values = (config as unknown as Record<string, Record<string, unknown> | undefined>)[section.name] ?? {};
    sections[section.name] = section.resolve ? section.resolve(values, cwd) : values;
  }
  const at = (p: string | undefined) => (p === undefined ? undefined : path.resolve(cwd, p));
  return {
    ...config,
    dataDir: path.resolve(cwd, config.dataDir),
    // Paths are relative to where the server starts, as dataDir is; unset ones keep their data-dir defaults.
    warehouse: { ...config.warehouse, ...optional('path', at(config.warehouse.path)) },
    lake: { ...config.lake, ...optional('dir', at(config.lake.dir)) },
    queries: { ...config.queries, ...optional('referenceDir', at(config.queries.referenceDir)) },
    functions: { ...config.functions, deploy: config.functions.deploy.map((f) => ({ ...f, handler: path.resolve(cwd, f.handler) })) },
    ...(config.cluster ? { cluster: { ...CLUSTER_DEFAULTS, ...config.cluster } } : {}),
    ...sections,
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function findConfigFile(cwd: string, explicit: string | undefined): string | undefined {
  if (explicit) {
    const p = path.resolve(cwd, explicit);
    if (!fs.existsSync(p)) throw configError(`config file not found: ${p}`, { file: p });
    return p;
  }
  const candidates = ['tollstream.config.ts', 'tollstream.config.json'].map((f) => path.join(cwd, f)).filter((p) => fs.existsSync(p));
  if (candidates.length > 1) {
    throw configError(`both ${candidates.join(' and ')} exist; keep one`, { files: candidates });
  }
  return candidates[0];
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    if (file.endsWith('.json')) {
      value = JSON.parse(fs.readFileSync(file, 'utf8'));
    } else {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      value = mod.default;
    }
  } catch (err) {
    throw configError(`cannot read config file ${file}: ${(err as Error).message}`, { file }, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(`config file ${file} must ${file.endsWith('.json') ? 'hold' : 'export default'} an object`, { file });
  }
  return value as Record<string, unknown>;
}

/** Turns a nested object into dotted keys, rejecting keys the schema does not know. */
function flatten(obj: Record<string, unknown>, source: string, schema: Schema, prefix = '', out: Flat = new Map()): Flat {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const leaf = schema.settings[key];
    if (leaf) {
      if (v === undefined) continue;
      out.set(key, checkValue(key, v, source, schema));
    } else if (isPlainObject(v) && Object.keys(schema.settings).some((s) => s.startsWith(key + '.'))) {
      flatten(v, source, schema, key, out);
    } else {
      throw configError(`unknown config key '${key}' in ${source}${suggest(key, schema)}`, { key, source });
    }
  }
  return out;
}

function fromEnv(env: Readonly<Record<string, string | undefined>>, schema: Schema): Flat {
  const out: Flat = new Map();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || ENV_RESERVED.has(name) || raw === undefined) continue;
    const key = schema.keyByEnv.get(name);
    if (!key) throw configError(`unknown environment variable ${name}${suggest(name, schema)}`, { key: name, source: 'environment' });
    out.set(key, parseText(key, raw, `environment variable ${name}`, schema));
  }
  return out;
}

function fromFlags(flags: Readonly<Record<string, unknown>>, schema: Schema): Flat {
  const out: Flat = new Map();
  for (const [key, v] of Object.entries(flags)) {
    if (v === undefined) continue;
    if (!schema.settings[key]) throw configError(`unknown config key '${key}' on the command line${suggest(key, schema)}`, { key, source: 'command line' });
    out.set(key, typeof v === 'string' ? parseText(key, v, `flag --${flagName(key)}`, schema) : checkValue(key, v, 'command line', schema));
  }
  return out;
}

function parseText(key: string, raw: string, source: string, schema: Schema): unknown {
  const leaf = schema.settings[key]!;
  switch (leaf.type) {
    case 'string':
    case 'enum':
      return checkValue(key, raw, source, schema);
    case 'boolean':
      if (raw.trim() !== 'true' && raw.trim() !== 'false') throw configError(`${key} must be true or false, got '${raw}' (${source})`, { key, source });
      return raw.trim() === 'true';
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) throw configError(`${key} must be an integer from ${leaf.min} to ${leaf.max}, got '${raw}' (${source})`, { key, source });
      return checkValue(key, Number(raw), source, schema);
    }
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        throw configError(`${key} must be JSON (${source}): ${(err as Error).message}`, { key, source }, err);
      }
      return checkValue(key, parsed, source, schema);
    }
  }
}

const sectionSchemas = new WeakMap<ConfigSection, Schema>();

/**
 * Checks one setting's value against its one definition, the platform's or that of an app's `section`, for code
 * that takes the setting from elsewhere than a config (a library's options): throws CONFIG_INVALID naming the key
 * (`alerts.windowSeconds`), as loading a config does.
 */
export function checkSetting(key: string, value: unknown, source: string, section?: ConfigSection): void {
  let schema = PLATFORM;
  if (section !== undefined) {
    schema = sectionSchemas.get(section) ?? schemaWith([section]);
    sectionSchemas.set(section, schema);
  }
  if (schema.settings[key] === undefined) throw new TollstreamError('INTERNAL', `no setting '${key}' in the config schema`, { context: { key } });
  checkValue(key, value, source, schema);
}

function checkValue(key: string, v: unknown, source: string, schema: Schema): unknown {
  const leaf = schema.settings[key]!;
  let problem: string | undefined;
  switch (leaf.type) {
    case 'string':
      if (typeof v !== 'string' || v === '') problem = 'must be a non-empty string';
      else problem = leaf.check?.(v);
      break;
    case 'boolean':
      if (typeof v !== 'boolean') problem = 'must be true or false';
      break;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < leaf.min || v > leaf.max) {
        problem = `must be an integer from ${leaf.min} to ${leaf.max}`;
      }
      break;
    case 'enum':
      if (typeof v !== 'string' || !leaf.values.includes(v)) problem = `must be one of ${leaf.values.map((x) => `'${x}'`).join(', ')}`;
      break;
    case 'json':
      problem = leaf.check(v);
      break;
  }
  if (problem) {
    const sep = problem.startsWith('[') ? '' : ' ';
    throw configError(`${key}${sep}${problem}, got ${JSON.stringify(v)} (${source})`, { key, source });
  }
  return v;
}

/** A setting that only means something when another one is on: `lake.dir` needs `lake.enabled`... */
const REQUIRES_ENABLED: ReadonlyArray<readonly [key: string, enabledKey: string]> = [
  ['warehouse.path', 'warehouse.enabled'],
  ['warehouse.postgresUrl', 'warehouse.enabled'],
  ['lake.dir', 'lake.enabled'],
  ['lake.targetFileMiB', 'lake.enabled'],
  ['lake.maxWaitSeconds', 'lake.enabled'],
  ['lake.compactionIntervalSeconds', 'lake.enabled'],
  ['bi.password', 'bi.enabled'],
  ['queries.referenceDir', 'queries.enabled'],
];

function checkConflicts(explicit: Flat, schema: Schema): void {
  const defaults = schema.defaults;
  for (const [key, enabledKey] of [...REQUIRES_ENABLED, ...schema.sections.flatMap((s) => s.requiresEnabled ?? [])]) {
    if (explicit.has(key) && (explicit.get(enabledKey) ?? defaults.get(enabledKey)) !== true) {
      throw configError(`${key} conflicts with ${enabledKey} false: set ${enabledKey} to true or drop ${key}`, { key });
    }
  }
  const warehouseKind = explicit.get('warehouse.kind') ?? DEFAULT_CONFIG.warehouse.kind;
  if (warehouseKind === 'postgres' && !explicit.has('warehouse.postgresUrl') && (explicit.get('warehouse.enabled') ?? true) === true) {
    throw configError("warehouse.kind 'postgres' needs warehouse.postgresUrl (postgres://user:password@host:5432/database)", { key: 'warehouse.postgresUrl' });
  }
  if (warehouseKind !== 'postgres' && explicit.has('warehouse.postgresUrl')) {
    throw configError("warehouse.postgresUrl conflicts with warehouse.kind 'duckdb': set warehouse.kind to 'postgres' or drop warehouse.postgresUrl", { key: 'warehouse.postgresUrl' });
  }
  if (warehouseKind === 'postgres' && explicit.has('warehouse.path')) {
    throw configError("warehouse.path (a DuckDB file) conflicts with warehouse.kind 'postgres': drop warehouse.path", { key: 'warehouse.path' });
  }
  if (explicit.get('bi.enabled') === true) {
    if (!explicit.has('bi.password')) throw configError('bi.enabled needs bi.password (or TOLLSTREAM_BI_PASSWORD): BI clients sign in with it', { key: 'bi.password' });
    if (warehouseKind === 'postgres') {
      throw configError("bi.enabled conflicts with warehouse.kind 'postgres': BI tools connect to that PostgreSQL server itself, with a read-only role (docs/warehouse.md)", { key: 'bi.enabled' });
    }
    if ((explicit.get('warehouse.enabled') ?? true) !== true) throw configError('bi.enabled conflicts with warehouse.enabled false: it serves the warehouse', { key: 'bi.enabled' });
  }
  const clusterKey = [...explicit.keys()].find((k) => k.startsWith('cluster.'));
  for (const required of ['cluster.natsServers', 'cluster.postgresUrl', 'cluster.nodeName']) {
    if (clusterKey && !explicit.has(required)) {
      throw configError(`${required} is required with ${clusterKey}: a cluster node needs cluster.natsServers, cluster.postgresUrl and cluster.nodeName`, { key: required });
    }
  }
  if (clusterKey && explicit.get('lake.enabled') === true && !explicit.has('lake.dir')) {
    throw configError(`lake.dir is required with lake.enabled on a cluster (${clusterKey}): the nodes write one lake, so name a folder every node mounts (NFS or the like)`, { key: 'lake.dir' });
  }
  const leaseMs = Number(explicit.get('cluster.leaseMs') ?? CLUSTER_DEFAULTS.leaseMs);
  const leaseRenewMs = Number(explicit.get('cluster.leaseRenewMs') ?? CLUSTER_DEFAULTS.leaseRenewMs);
  if (clusterKey && leaseRenewMs * 3 > leaseMs) {
    const key = explicit.has('cluster.leaseRenewMs') ? 'cluster.leaseRenewMs' : 'cluster.leaseMs';
    throw configError(`cluster.leaseRenewMs (${leaseRenewMs}) must be at most a third of cluster.leaseMs (${leaseMs}): a node must get two renewals through before it gives a lease up`, { key });
  }
  if (warehouseKind === 'postgres' && explicit.has('warehouse.memoryLimitMiB')) {
    throw configError("warehouse.memoryLimitMiB (DuckDB's memory limit) conflicts with warehouse.kind 'postgres': drop it (PostgreSQL's own settings bound its memory)", { key: 'warehouse.memoryLimitMiB' });
  }
  if (explicit.has('storage.fsyncIntervalMs') && (explicit.get('storage.fsync') ?? DEFAULT_CONFIG.storage.fsync) !== 'interval') {
    throw configError(
      "storage.fsyncIntervalMs conflicts with storage.fsync 'always': set storage.fsync to 'interval' or drop storage.fsyncIntervalMs",
      { key: 'storage.fsyncIntervalMs' },
    );
  }
  for (const section of schema.sections) {
    const problem = section.check?.(explicit);
    if (problem !== undefined) throw configError(problem.message, { key: problem.key, section: section.name });
  }
}

function unflatten(flat: Flat): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of flat) {
    const parts = key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function suggest(key: string, schema: Schema): string {
  const lower = key.toLowerCase().replace(/^tollstream_/, '').replace(/[_.-]/g, '');
  const hit = Object.keys(schema.settings).find((k) => k.toLowerCase().replace(/[_.-]/g, '') === lower || k.toLowerCase().endsWith(lower));
  return hit ? ` (did you mean '${hit}'?)` : '';
}

function configError(message: string, context: Record<string, unknown>, cause?: unknown): TollstreamError {
  return new TollstreamError('CONFIG_INVALID', message, { context, cause });
}
