/**
 * The package runs without TypeScript: `npm pack` of a built tree (`npm run build:server` compiles src/ into
 * lib/) holds no .ts file, and, unpacked where a package manager puts it, `tollstream up` starts from lib/ with
 * Node alone, serves /health, the pages and the console page of an app, runs a continuous query (its checkpoint thread) and a deployed
 * function (its worker thread).
 *
 * Offline, `npm install ./tollstream-x.tgz` cannot fetch the dependencies (ENOTCACHED), so the test unpacks the
 * tarball into node_modules/tollstream and links the packages this checkout has installed beside it, the
 * development ones left out: what Node resolves is then what an install gives. The pages are built into the
 * copy, as `npm run build` does before a pack.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../web/harness.ts';
import { cleanEnv, REPO_ROOT } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('the npm package', () => {
  let work: string;
  let installed: string;
  let tarball: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-package-'));
    // A copy of the package's sources, built and packed as `npm pack` does after `prepack` (npm run build).
    const tree = path.join(work, 'tree');
    fs.mkdirSync(tree);
    for (const entry of ['package.json', 'README.md', 'bin', 'src', 'deploy']) fs.cpSync(path.join(REPO_ROOT, entry), path.join(tree, entry), { recursive: true });
    fs.mkdirSync(path.join(tree, 'docs'));
    fs.copyFileSync(path.join(REPO_ROOT, 'docs/openapi.json'), path.join(tree, 'docs/openapi.json'));
    await buildWeb(path.join(tree, 'dist/web'));
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(tree, 'node_modules'));
    await run(process.execPath, [path.join(tree, 'bin/build-server.mjs'), '--root', tree], { env: cleanEnv() });
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: tree, env: cleanEnv() });
    tarball = path.join(work, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);

    // Where an install puts it, with the dependencies beside it.
    installed = path.join(work, 'app/node_modules/tollstream');
    fs.mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
    // Not the development dependencies (the test runner, the compiler, types): a package install has none of them.
    const dev = Object.keys((JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);
    for (const dep of fs.readdirSync(path.join(REPO_ROOT, 'node_modules'))) {
      if (dep === 'tollstream' || dep === '@types' || dep.startsWith('.') || dev.includes(dep)) continue;
      fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', dep), path.join(work, 'app/node_modules', dep));
    }
  }, 240_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('holds the compiled server, the pages and no TypeScript', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('lib/cli/main.js');
    expect(files).toContain('lib/apps/abc-tolls/sql/customer-spend.sql');
    expect(files).toContain('dist/web/app/index.html');
    expect(files).toContain('docs/openapi.json');
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    // The apps' browser sources are in the pages' bundles, not beside the server.
    expect(files.filter((f) => /^lib\/apps\/[^/]+\/web\//.test(f))).toEqual([]);
    expect(files).toContain('dist/web/console/pages/stations.js');
    // The pages carry the chart library in their own bundles (uPlot's root class 'uplot' and its legend class are
    // in the built code): the server needs neither it nor the bundler.
    const assets = fs.readdirSync(path.join(installed, 'dist/web/assets')).filter((f) => f.endsWith('.js'));
    expect(assets.some((f) => /\buplot\b/.test(fs.readFileSync(path.join(installed, 'dist/web/assets', f), 'utf8')) && fs.readFileSync(path.join(installed, 'dist/web/assets', f), 'utf8').includes('u-legend'))).toBe(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).filter((d) => d === 'vite' || d === 'uplot')).toEqual([]);
  });

  it('starts `tollstream up` from lib/ with Node alone: health, pages, a query and a deployed function', async () => {
    const dataDir = path.join(work, 'data');
    fs.mkdirSync(dataDir);
    const port = await freePort();
    // A user's app written in TypeScript, which the compiled server compiles as it loads it (and nothing else).
    fs.writeFileSync(
      path.join(dataDir, 'greeting-app.ts'),
      "const greeting: string = 'hello from an app';\n" +
        "export default {\n  name: 'greeting',\n  enabled: (): boolean => true,\n  prepare: () => ({\n    start: async () => ({ routes: [{ matches: (_m: string, p: string): boolean => p === '/v1/greeting', handle: async (_req: unknown, res: { writeHead(s: number, h: object): void; end(b: string): void }) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ greeting })); } }] }),\n  }),\n};\n",
    );
    // No loader is registered for the server itself: a .ts module of its own on the way would fail to load on Node 20.
    const child = spawn(process.execPath, [path.join(installed, 'bin/tollstream.mjs'), 'up', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'], {
      cwd: dataDir,
      env: cleanEnv({ TOLLSTREAM_WAREHOUSE_ENABLED: 'false', TOLLSTREAM_APPS: JSON.stringify(['./greeting-app.ts']) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
          const m = /tollstream ready at (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        void exited.then(() => reject(new Error(`tollstream up exited before it was ready:\n${stderr}`)));
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(await (await fetch(`${url}/v1/greeting`)).json()).toEqual({ greeting: 'hello from an app' });
      const page = await fetch(`${url}/app/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      // The console's page of the station alerts, declared by the compiled app and found in the packed build.
      const consolePages = (await (await fetch(`${url}/console/pages.json`)).json()) as Array<{ id: string; module: string }>;
      expect(consolePages.map((p) => p.id)).toEqual(['stations']);
      const stationsModule = await fetch(`${url}${consolePages[0]!.module}`);
      expect(stationsModule.status).toBe(200);
      expect(await stationsModule.text()).toMatch(/export\s*\{[^}]*\bas default\b/);

      // A deployed function runs in a worker thread started from lib/functions/handler-thread.js.
      const code = "export const tables = ['pkg_t'];\nexport async function handler(event, ctx) {\n  ctx.transact((tx) => { tx.update('pkg_t', { pk: 'p' }, { add: { seen: event.records.length } }); });\n}\n";
      expect((await fetch(`${url}/v1/functions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'pkg_fn', stream: 'toll_transactions', code }) })).status).toBe(201);
      const toll = { transaction_id: 'T-pkg-1', customer_id: 'C0000001', tag_id: 'TAG-1', plate: 'ABC-1234', plaza_id: 'P01', lane: 1, vehicle_class: 2, amount_cents: 250, currency: 'USD', event_time: new Date().toISOString() };
      expect((await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, { method: 'POST', body: `${JSON.stringify(toll)}\n` })).status).toBe(200);
      const item = await waitFor('the function to write its table', async () => {
        const res = await fetch(`${url}/v1/tables/pkg_t/items/p`);
        return res.status === 200 ? ((await res.json()) as { item: { seen: number } }) : undefined;
      });
      expect(JSON.stringify(item)).toContain('"seen":1');

      // The spending alerts' continuous query stores checkpoints on its thread (lib/queries/checkpoint-thread.js).
      const query = await waitFor('a stored checkpoint of the spend query', async () => {
        const list = (await (await fetch(`${url}/v1/queries`)).json()) as { queries: Array<{ name: string; state: string; stats: { lastCheckpoint: { id: number } | null; rowsInTotal: number } }> };
        const q = list.queries.find((x) => x.name === 'abc-tolls-customer-spend');
        return q && q.stats.lastCheckpoint !== null && q.stats.rowsInTotal > 0 ? q : undefined;
      });
      expect(query.state).toBe('RUNNING');
      expect(stderr).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|\.ts\b/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
