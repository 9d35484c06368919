/**
 * `reference.stationsFile`, the station alerts' own setting, under `tollstream up`: the file named relative to where
 * the server starts is loaded into `station_reference` at start, even with the alerts off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startUp, tempDir, type UpProcess } from '../cli/helpers.ts';

let server: UpProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('reference.stationsFile', () => {
  it('loads the station reference from the file of the config at start, relative to where the server starts', async () => {
    dir = tempDir('stations-file');
    fs.mkdirSync(path.join(dir, 'ref'));
    fs.writeFileSync(path.join(dir, 'ref/stations.csv'), 'plaza_id,day_of_week,slot,expected_count,alert_threshold\nP01,3,28,120,40\nP02,3,28,80,20\n');
    const config = { dataDir: './data', alerts: { enabled: false }, stationAlerts: { enabled: false }, reference: { stationsFile: 'ref/stations.csv' } };
    fs.writeFileSync(path.join(dir, 'tollstream.config.json'), JSON.stringify(config));
    server = await startUp([], { cwd: dir });
    const rows = await runCli(['sql', 'SELECT plaza_id, expected_count FROM station_reference ORDER BY plaza_id', '--format', 'csv'], { env: { TOLLSTREAM_ENDPOINT: server.url } });
    expect(rows).toMatchObject({ code: 0, stdout: 'plaza_id,expected_count\r\nP01,120\r\nP02,80\r\n' });
  }, 120_000);
});
