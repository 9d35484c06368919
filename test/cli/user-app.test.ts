/**
 * A user's own app, written in their project folder and named by the `apps` setting, runs under `tollstream up`
 * as the shipped apps do: its stream is created, its route is mounted and writes to the stream, and the route reads
 * the stream back. A module that is missing, or exports no App, stops the start with a code naming its path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, startUp, tempDir, type UpProcess } from './helpers.ts';

const CONTRACT = path.join(REPO_ROOT, 'src/app-contract/index.ts');

/** A small app: the stream `visits`, and `/v1/visits` that appends the body (POST) or lists the records (GET). */
const VISITS_APP = `
import type { App } from ${JSON.stringify(CONTRACT)};

const STREAM = 'visits';

const app: App = {
  name: 'visits',
  enabled: () => true,
  prepare: () => ({
    async start(ctx) {
      if (!(await ctx.log.listStreams()).some((s) => s.name === STREAM)) await ctx.log.createStream(STREAM, { shardCount: 1 });
      return {
        routes: [
          {
            matches: (_method: string, path: string) => path === '/v1/visits',
            methods: () => ['GET', 'POST'],
            async handle(req, res) {
              if (req.method === 'POST') {
                const chunks: Buffer[] = [];
                for await (const chunk of req) chunks.push(chunk as Buffer);
                await ctx.log.append(STREAM, [{ data: Buffer.concat(chunks), partitionKey: 'visit' }]);
                res.writeHead(201, { 'content-type': 'application/json' });
                res.end('{"stored":true}');
                return;
              }
              const visits: string[] = [];
              for (const shard of (await ctx.log.describeStream(STREAM)).shards) {
                const { records } = await ctx.log.read(STREAM, shard.shardId, { type: 'TRIM_HORIZON' });
                for (const r of records) visits.push(Buffer.from(r.data).toString('utf8'));
              }
              res.writeHead(200, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ visits }));
            },
          },
        ],
      };
    },
  }),
};

export default app;
`;

/**
 * An app with settings of its own, the section `greeting`: `/v1/greeting` answers the settings the app was started
 * with, read through the contract's `sectionSettings`.
 */
const GREETING_APP = `
import { sectionSettings, type App, type ConfigSection } from ${JSON.stringify(CONTRACT)};

const section: ConfigSection = {
  name: 'greeting',
  settings: {
    text: { type: 'string', check: (v) => (v.length <= 40 ? undefined : 'must be at most 40 characters') },
    repeat: { type: 'integer', min: 1, max: 5 },
    loud: { type: 'boolean' },
  },
  defaults: { text: 'hello', repeat: 1, loud: false },
};

const app: App = {
  name: 'greeting',
  configSection: section,
  enabled: () => true,
  prepare: () => ({
    async start(ctx) {
      const settings = sectionSettings<{ text: string; repeat: number; loud: boolean }>(ctx.config, section);
      return {
        routes: [
          {
            matches: (_method: string, path: string) => path === '/v1/greeting',
            methods: () => ['GET'],
            async handle(_req, res) {
              res.writeHead(200, { 'content-type': 'application/json' });
              res.end(JSON.stringify(settings));
            },
          },
        ],
      };
    },
  }),
};

export default app;
`;

let server: UpProcess | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A project folder with `files` and a config naming `apps`; the data directory inside it. */
function project(files: Record<string, string>, apps: readonly string[], settings: Record<string, unknown> = {}): string {
  const dir = tempDir('user-app');
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const config = { dataDir: './data', apps, warehouse: { enabled: false }, alerts: { enabled: false }, stationAlerts: { enabled: false }, ...settings };
  fs.writeFileSync(path.join(dir, 'tollstream.config.json'), JSON.stringify(config));
  return dir;
}

describe('a user app from the project folder', () => {
  it('runs under tollstream up: its stream, and its route writing to and reading from it', async () => {
    const dir = project({ 'apps/visits.ts': VISITS_APP }, ['./apps/visits.ts']);
    server = await startUp([], { cwd: dir });

    const streams = (await (await fetch(`${server.url}/v1/streams`)).json()) as { streams: Array<{ name: string }> };
    expect(streams.streams.map((s) => s.name)).toContain('visits');
    for (const visitor of ['ada', 'grace']) {
      const put = await fetch(`${server.url}/v1/visits`, { method: 'POST', body: JSON.stringify({ visitor }) });
      expect(put.status).toBe(201);
    }
    const read = await fetch(`${server.url}/v1/visits`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { visits: string[] }).visits.map((v) => JSON.parse(v))).toEqual([{ visitor: 'ada' }, { visitor: 'grace' }]);
    // The gateway answers the methods the app's route does not serve, as for any route module.
    const refused = await fetch(`${server.url}/v1/visits`, { method: 'DELETE' });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('GET, HEAD, POST');
  }, 60_000);

  it('refuses to start when a module is missing, naming it (APP_MODULE_NOT_FOUND)', async () => {
    const dir = project({}, ['./apps/nowhere.ts']);
    const result = await runCli(['up', '--port', '0', '--log-level', 'warn'], { cwd: dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('APP_MODULE_NOT_FOUND');
    expect(result.stderr).toContain('./apps/nowhere.ts');
  }, 60_000);

  it('refuses to start when a module exports no App, naming it (APP_MODULE_INVALID)', async () => {
    const dir = project({ 'apps/not-an-app.mjs': 'export default { name: "half" };\n' }, ['./apps/not-an-app.mjs']);
    const result = await runCli(['up', '--port', '0', '--log-level', 'warn'], { cwd: dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('APP_MODULE_INVALID');
    expect(result.stderr).toContain('./apps/not-an-app.mjs');
    expect(result.stderr).toContain("'enabled' must be a function");
  }, 60_000);

  it('reads the settings its app declares from the config file and the environment, its defaults filling the rest', async () => {
    const dir = project({ 'apps/greeting.ts': GREETING_APP }, ['./apps/greeting.ts'], { greeting: { text: 'good morning' } });
    server = await startUp([], { cwd: dir, env: { TOLLSTREAM_GREETING_REPEAT: '3' } });
    const answer = await fetch(`${server.url}/v1/greeting`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ text: 'good morning', repeat: 3, loud: false });
  }, 60_000);

  it("refuses a bad value of an app's setting, naming the key and where it came from (CONFIG_INVALID)", async () => {
    const dir = project({ 'apps/greeting.ts': GREETING_APP }, ['./apps/greeting.ts'], { greeting: { repeat: 9 } });
    const result = await runCli(['up', '--port', '0', '--log-level', 'warn'], { cwd: dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('CONFIG_INVALID');
    expect(result.stderr).toContain('greeting.repeat must be an integer from 1 to 5, got 9');
    expect(result.stderr).toContain('tollstream.config.json');

    const fromEnv = await runCli(['up', '--port', '0', '--log-level', 'warn'], { cwd: project({ 'apps/greeting.ts': GREETING_APP }, ['./apps/greeting.ts']), env: { TOLLSTREAM_GREETING_LOUD: 'yes' } });
    expect(fromEnv.code).not.toBe(0);
    expect(fromEnv.stderr).toContain("greeting.loud must be true or false, got 'yes' (environment variable TOLLSTREAM_GREETING_LOUD)");
  }, 60_000);

  it('still refuses a key of no platform setting and no loaded app, naming it', async () => {
    const unknownKey = await runCli(['up', '--port', '0', '--log-level', 'warn'], { cwd: project({ 'apps/greeting.ts': GREETING_APP }, ['./apps/greeting.ts'], { greeting: { colour: 'red' } }) });
    expect(unknownKey.code).not.toBe(0);
    expect(unknownKey.stderr).toContain("unknown config key 'greeting.colour'");
    // Without the app that declares it, the whole section is unknown.
    const noApp = await runCli(['up', '--port', '0', '--log-level', 'warn'], { cwd: project({}, [], { greeting: { text: 'hi' } }) });
    expect(noApp.code).not.toBe(0);
    expect(noApp.stderr).toContain("unknown config key 'greeting'");
  }, 60_000);
});
