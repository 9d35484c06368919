/** Loading users' app modules: what counts as an App, and the errors that name the module. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { appConfigSections, type App } from './index.ts';
import { loadApps } from './load.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-load-apps-'));
  const app = (name: string) => `{ name: '${name}', enabled: () => true, prepare: () => ({ start: async () => undefined }) }`;
  fs.writeFileSync(path.join(dir, 'default.mjs'), `export default ${app('first')};\n`);
  fs.writeFileSync(path.join(dir, 'named.mjs'), `export const app = ${app('second')};\n`);
  fs.writeFileSync(path.join(dir, 'clash.mjs'), `export default ${app('shipped')};\n`);
  fs.writeFileSync(path.join(dir, 'throws.mjs'), "throw new Error('broken at import');\n");
  const section = (name: string) => `{ name: '${name}', settings: { enabled: { type: 'boolean' } }, defaults: { enabled: true } }`;
  fs.writeFileSync(path.join(dir, 'two-sections.mjs'), `export default { ...${app('two')}, configSection: [${section('one')}, ${section('other')}] };\n`);
  fs.writeFileSync(path.join(dir, 'bad-section.mjs'), `export default { ...${app('bad')}, configSection: [${section('one')}, { name: 'other', settings: {}, defaults: {}, check: 'none' }] };\n`);
  fs.writeFileSync(path.join(dir, 'bad-pairs.mjs'), `export default { ...${app('pairs')}, configSection: { ...${section('one')}, requiresEnabled: ['one.enabled'] } };\n`);
  fs.writeFileSync(path.join(dir, 'bad-reports.mjs'), "export default { name: 'r', enabled: () => true, prepare: () => ({}), reports: 'none' };\n");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadApps', () => {
  it('takes the default export or the export app, in order, relative to cwd', async () => {
    const apps = await loadApps(['./default.mjs', path.join(dir, 'named.mjs')], { cwd: dir });
    expect(apps.map((a) => a.name)).toEqual(['first', 'second']);
  });

  it('refuses, naming the module, a name already taken, a module that throws, and a member of the wrong type', async () => {
    const shipped: App = { name: 'shipped', enabled: () => true, prepare: () => ({ start: async () => undefined }) };
    const refusal = (modules: string[]) => loadApps(modules, { cwd: dir, alongside: [shipped] }).catch((err: unknown) => err);
    const clash = await refusal(['./clash.mjs']);
    expect(isTollstreamError(clash, 'APP_MODULE_INVALID') && clash.message).toMatch(/\.\/clash\.mjs.*'shipped', which is already a shipped app/);
    const twice = await refusal(['./default.mjs', './default.mjs']);
    expect(isTollstreamError(twice, 'APP_MODULE_INVALID') && twice.message).toMatch(/already the app of \.\/default\.mjs/);
    const throws = await refusal(['./throws.mjs']);
    expect(isTollstreamError(throws, 'APP_MODULE_INVALID') && throws.message).toMatch(/\.\/throws\.mjs \(apps\) does not load: broken at import/);
    const reports = await refusal(['./bad-reports.mjs']);
    expect(isTollstreamError(reports, 'APP_MODULE_INVALID') && reports.context).toMatchObject({ module: './bad-reports.mjs', problem: "'reports' must be an array when present" });
    const missing = await refusal(['./nowhere.mjs']);
    expect(isTollstreamError(missing, 'APP_MODULE_NOT_FOUND') && missing.context).toMatchObject({ module: './nowhere.mjs', file: path.join(dir, 'nowhere.mjs') });
  });

  it('takes one config section or a list of them, checking each', async () => {
    const [two] = await loadApps(['./two-sections.mjs'], { cwd: dir });
    expect(appConfigSections(two!).map((s) => s.name)).toEqual(['one', 'other']);
    const bad = await loadApps(['./bad-section.mjs'], { cwd: dir }).catch((err: unknown) => err);
    expect(isTollstreamError(bad, 'APP_MODULE_INVALID') && bad.context).toMatchObject({ problem: "'configSection[1].check' must be a function when present" });
    const pairs = await loadApps(['./bad-pairs.mjs'], { cwd: dir }).catch((err: unknown) => err);
    expect(isTollstreamError(pairs, 'APP_MODULE_INVALID') && pairs.context).toMatchObject({ module: './bad-pairs.mjs', problem: "'configSection.requiresEnabled' must be an array of [key, enabledKey] pairs when present" });
  });
});
