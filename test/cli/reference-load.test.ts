/**
 * `tollstream reference load FILE --name NAME` against a running server: an app's own reference data, declared by a
 * user app from the project folder, is replaced by the file and read back with `tollstream sql`; a bad row is
 * refused naming it and the previous rows stay; an unknown name is 404 naming it and the names the apps declare.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, startUp, tempDir, type UpProcess } from './helpers.ts';

/** The project's app module: the tests' app that declares only the reference data `lanes` (table `plaza_lanes`). */
const LANES_APP = `import { lanesApp } from ${JSON.stringify(path.join(REPO_ROOT, 'test/support/lanes-app.ts'))};\nexport default lanesApp();\n`;

let server: UpProcess;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = tempDir('reference-load');
  fs.mkdirSync(path.join(dir, 'apps'));
  fs.writeFileSync(path.join(dir, 'apps/lanes.ts'), LANES_APP);
  const config = { dataDir: './data', apps: ['./apps/lanes.ts'], alerts: { enabled: false }, stationAlerts: { enabled: false } };
  fs.writeFileSync(path.join(dir, 'tollstream.config.json'), JSON.stringify(config));
  server = await startUp([], { cwd: dir });
  env = { TOLLSTREAM_ENDPOINT: server.url };
}, 60_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The rows of the lanes table, as `tollstream sql --format csv` prints them (CRLF line ends, as in RFC 4180). */
async function lanes(): Promise<string> {
  const result = await runCli(['sql', 'SELECT plaza_id, lanes FROM plaza_lanes ORDER BY plaza_id', '--format', 'csv'], { env });
  expect(result.stderr).toBe('');
  return result.stdout;
}

describe('tollstream reference load', () => {
  it("replaces an app's own reference data with a CSV file, then a JSON one", async () => {
    const csv = path.join(dir, 'lanes.csv');
    fs.writeFileSync(csv, 'plaza_id,lanes\nP01,4\nP02,2\n');
    const loaded = await runCli(['reference', 'load', csv, '--name', 'lanes'], { env });
    expect(loaded).toMatchObject({ code: 0, stdout: `loaded 2 'lanes' reference rows from ${csv}\n` });
    expect(await lanes()).toBe('plaza_id,lanes\r\nP01,4\r\nP02,2\r\n');

    const json = path.join(dir, 'lanes.json');
    fs.writeFileSync(json, JSON.stringify([{ plaza_id: 'P03', lanes: 3 }]));
    const replaced = await runCli(['reference', 'load', json, '--name', 'lanes'], { env });
    expect(replaced).toMatchObject({ code: 0, stdout: `loaded 1 'lanes' reference row from ${json}\n` });
    expect(await lanes()).toBe('plaza_id,lanes\r\nP03,3\r\n');
  }, 60_000);

  it('refuses a file with a bad row, naming the row, and keeps the previous rows', async () => {
    const before = await lanes();
    const bad = path.join(dir, 'bad-lanes.csv');
    fs.writeFileSync(bad, 'plaza_id,lanes\nP04,2\nP05,0\n');
    const refused = await runCli(['reference', 'load', bad, '--name', 'lanes'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("reference 'lanes' row 2");
    expect(refused.stderr).toContain('(INVALID_ARGUMENT)');
    expect(await lanes()).toBe(before);
  }, 60_000);

  it('answers an unknown name with 404, naming it and the reference data the apps declare', async () => {
    const csv = path.join(dir, 'lanes.csv');
    fs.writeFileSync(csv, 'plaza_id,lanes\nP01,4\n');
    const unknown = await runCli(['reference', 'load', csv, '--name', 'plazas'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^error: no reference data 'plazas'; the apps declare: .*\blanes\b.*\(NOT_FOUND\)/m);
    // The answer the command reports is the API's 404.
    const answer = await fetch(`${server.url}/v1/reference/plazas`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'plaza_id,lanes\nP01,4\n' });
    expect(answer.status).toBe(404);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  }, 60_000);
});
