/**
 * Loads a user's own apps from their project folder (the `apps` setting): each module's default export (or its
 * export `app`) is an `App`, run by the server exactly as the shipped ones are. A TypeScript module is compiled as
 * it is imported, also by the compiled server (which otherwise runs no compiler).
 */
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TollstreamError } from '../core/errors.ts';
import type { App } from './index.ts';

const TYPESCRIPT = /\.(ts|mts)$/;

/** The functions and fields an `App` must have, and their types; the optional ones are checked when present. */
const REQUIRED: ReadonlyArray<readonly [keyof App, 'string' | 'function']> = [
  ['name', 'string'],
  ['enabled', 'function'],
  ['prepare', 'function'],
];
const OPTIONAL: ReadonlyArray<readonly [keyof App, 'object' | 'function' | 'array']> = [
  ['configSection', 'object'],
  ['referenceData', 'function'],
  ['streams', 'function'],
  ['warehouseTables', 'array'],
  ['reports', 'array'],
  ['historySeries', 'array'],
];

export interface LoadAppsOptions {
  /** Where relative module paths start. @default process.cwd() */
  readonly cwd?: string;
  /** Apps already there (the shipped ones): a loaded app may not take one of their names. @default none */
  readonly alongside?: readonly App[];
}

/**
 * Imports each module of `modules` (paths, relative to `cwd`) and returns its `App`, in order. Throws
 * APP_MODULE_NOT_FOUND for a path with no file, APP_MODULE_INVALID for a module that does not load, exports no
 * `App`, or names its app like another; both name the module.
 */
export async function loadApps(modules: readonly string[], options: LoadAppsOptions = {}): Promise<App[]> {
  const cwd = options.cwd ?? process.cwd();
  const taken = new Map((options.alongside ?? []).map((app) => [app.name, 'a shipped app']));
  const apps: App[] = [];
  for (const module of modules) {
    const file = path.resolve(cwd, module);
    const context = { module, file };
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
      throw new TollstreamError('APP_MODULE_NOT_FOUND', `the app module ${module} (apps) does not exist: no file ${file}`, { context });
    }
    if (TYPESCRIPT.test(file)) compileTypeScriptOnImport();
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      throw new TollstreamError('APP_MODULE_INVALID', `the app module ${module} (apps) does not load: ${(err as Error).message}`, { context, cause: err });
    }
    const app = exports.default ?? exports.app;
    const missing = appProblem(app);
    if (missing !== undefined) {
      throw new TollstreamError('APP_MODULE_INVALID', `the app module ${module} (apps) exports no App as its default export or as 'app': ${missing}`, { context: { ...context, problem: missing } });
    }
    const valid = app as App;
    const owner = taken.get(valid.name);
    if (owner !== undefined) {
      throw new TollstreamError('APP_MODULE_INVALID', `the app module ${module} (apps) names its app '${valid.name}', which is already ${owner}; give it another name`, { context: { ...context, app: valid.name } });
    }
    taken.set(valid.name, `the app of ${module}`);
    apps.push(valid);
  }
  return apps;
}

/** What keeps `value` from being an `App`, or undefined when it is one. */
function appProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return value === undefined ? 'it exports neither' : `the export is ${typeof value === 'object' ? 'null' : `a ${typeof value}`}, not an object`;
  const app = value as Record<string, unknown>;
  for (const [key, type] of REQUIRED) {
    if (typeof app[key] !== type) return `'${key}' must be a ${type}`;
  }
  if ((app.name as string).trim() === '') return "'name' must not be empty";
  for (const [key, type] of OPTIONAL) {
    const v = app[key];
    if (v === undefined) continue;
    if (type === 'array' ? !Array.isArray(v) : typeof v !== type || v === null) return `'${key}' must be ${type === 'array' ? 'an array' : type === 'object' ? 'an object' : `a ${type}`} when present`;
  }
  const declared = app.configSection;
  const sections = (Array.isArray(declared) ? declared : declared === undefined ? [] : [declared]) as unknown[];
  for (const [i, section] of sections.entries()) {
    const at = Array.isArray(declared) ? `configSection[${i}]` : 'configSection';
    if (typeof section !== 'object' || section === null) return `'${at}' must be an object`;
    const fields = section as Record<string, unknown>;
    if (typeof fields.name !== 'string') return `'${at}.name' must be a string`;
    for (const key of ['settings', 'defaults']) {
      if (typeof fields[key] !== 'object' || fields[key] === null) return `'${at}.${key}' must be an object`;
    }
    for (const key of ['check', 'resolve']) {
      if (fields[key] !== undefined && typeof fields[key] !== 'function') return `'${at}.${key}' must be a function when present`;
    }
    const pairs = fields.requiresEnabled;
    if (pairs !== undefined && !(Array.isArray(pairs) && pairs.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((key) => typeof key === 'string')))) {
      return `'${at}.requiresEnabled' must be an array of [key, enabledKey] pairs when present`;
    }
  }
  return undefined;
}

let typeScriptHooks = false;

/**
 * From the sources (a checkout) the entry point already compiles TypeScript as it is imported; the compiled server
 * (`lib/`) registers the same hooks, shipped beside the entry point, once the first TypeScript app is loaded.
 */
function compileTypeScriptOnImport(): void {
  if (typeScriptHooks || !import.meta.url.endsWith('.js')) return;
  register(new URL('../../bin/ts-hooks.mjs', import.meta.url));
  typeScriptHooks = true;
}
