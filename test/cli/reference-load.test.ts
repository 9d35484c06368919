/**
 * `tollstream reference load FILE --name NAME` against a running server: an app's own reference data, declared by a
 * user app from the project folder, is replaced by the file and read back with `tollstream sql`; a bad row is
 * refused naming it and the previous rows stay; an unknown name is 404 naming it and the names the apps declare.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, startUp, tempDir, type UpProcess } from './helpers.ts';

const CONTRACT = path.join(REPO_ROOT, 'src/app-contract/index.ts');

/** An app that only declares reference data: `lanes`, a table of speed limits per lane. */
const LANES_APP = `
import type { App } from ${JSON.stringify(CONTRACT)};

const app: App = {
  name: 'lanes',
  enabled: () => true,
  referenceData: () => [
    {
      name: 'lanes',
      table: {
        name: 'lane_reference',
        description: 'speed limit of each lane',
        primaryKey: ['lane_id'],
        columns: [
          { name: 'lane_id', type: 'varchar', description: 'the lane' },
          { name: 'speed_limit', type: 'integer', min: 1, max: 200, description: 'km/h' },
        ],
      },
    },
  ],
  prepare: () => ({ start: async () => ({ routes: [] }) }),
};

export default app;
`;

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
  const result = await runCli(['sql', 'SELECT lane_id, speed_limit FROM lane_reference ORDER BY lane_id', '--format', 'csv'], { env });
  expect(result.stderr).toBe('');
  return result.stdout;
}

describe('tollstream reference load', () => {
  it("replaces an app's own reference data with a CSV file, then a JSON one", async () => {
    const csv = path.join(dir, 'lanes.csv');
    fs.writeFileSync(csv, 'lane_id,speed_limit\nL1,80\nL2,100\n');
    const loaded = await runCli(['reference', 'load', csv, '--name', 'lanes'], { env });
    expect(loaded).toMatchObject({ code: 0, stdout: `loaded 2 'lanes' reference rows from ${csv}\n` });
    expect(await lanes()).toBe('lane_id,speed_limit\r\nL1,80\r\nL2,100\r\n');

    const json = path.join(dir, 'lanes.json');
    fs.writeFileSync(json, JSON.stringify([{ lane_id: 'L3', speed_limit: 60 }]));
    const replaced = await runCli(['reference', 'load', json, '--name', 'lanes'], { env });
    expect(replaced).toMatchObject({ code: 0, stdout: `loaded 1 'lanes' reference row from ${json}\n` });
    expect(await lanes()).toBe('lane_id,speed_limit\r\nL3,60\r\n');
  }, 60_000);

  it('refuses a file with a bad row, naming the row, and keeps the previous rows', async () => {
    const before = await lanes();
    const bad = path.join(dir, 'bad-lanes.csv');
    fs.writeFileSync(bad, 'lane_id,speed_limit\nL4,90\nL5,900\n');
    const refused = await runCli(['reference', 'load', bad, '--name', 'lanes'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("reference 'lanes' row 2");
    expect(refused.stderr).toContain('(INVALID_ARGUMENT)');
    expect(await lanes()).toBe(before);
  }, 60_000);

  it('answers an unknown name with 404, naming it and the reference data the apps declare', async () => {
    const csv = path.join(dir, 'lanes.csv');
    fs.writeFileSync(csv, 'lane_id,speed_limit\nL1,80\n');
    const unknown = await runCli(['reference', 'load', csv, '--name', 'plazas'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^error: no reference data 'plazas'; the apps declare: .*\blanes\b.*\(NOT_FOUND\)/m);
    // The answer the command reports is the API's 404.
    const answer = await fetch(`${server.url}/v1/reference/plazas`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'lane_id,speed_limit\nL1,80\n' });
    expect(answer.status).toBe(404);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  }, 60_000);
});
