/**
 * `tollstream simulate` when the server goes away mid-run: it says how far the traffic got and gives the same
 * "cannot reach tollstream" error as every other command, with exit code 1, instead of an SDK stack.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { spawnCli } from './helpers.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { tollTransactionsStream } from '../../src/simulator/index.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-simulate-stop-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('tollstream simulate', () => {
  it('prints what it sent and the unreachable error when the server stops during the run', async () => {
    const server = await startServer(
      {
        ...DEFAULT_CONFIG,
        dataDir,
        port: 0,
        logging: { level: 'silent', format: 'json' },
        warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
        ...spendAlertsConfig({ enabled: false }),
        ...stationAlertsConfig({ enabled: false }),
        // The apps are off, so the toll stream they declare is declared here.
        streams: [tollTransactionsStream()],
      },
      { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) },
    );
    const child = spawnCli(['simulate', '--to', 'native', '--endpoint', server.url, '--rate', '200', '--batch', '50', '--duration', '60']);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Let two seconds of traffic land (progress is recorded every second), then take the server away.
    const deadline = Date.now() + 60_000;
    const stored = () => server.log.stats().shards.filter((s) => s.stream === 'toll_transactions').reduce((n, s) => n + s.recordsIn, 0);
    while (stored() < 400) {
      if (Date.now() > deadline) throw new Error(`the simulator stored only ${stored()} records in 60 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await server.close();
    expect(await exited).toBe(1);
    expect(stderr).toMatch(/stopped: sent \d+ records \(\d+ retries\) in [\d.]+ s: [1-9]\d* accepted/);
    expect(stderr).toContain(`cannot reach tollstream at ${server.url}`);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  }, 90_000);
});
