/** The shipped apps' settings as flags of `tollstream up`, through the real command: listed in its help, checked by name. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.ts';

const dir = tempDir('up-app-flags');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("tollstream up and the shipped apps' settings", () => {
  it('lists their flags in its help with what they take and their defaults', async () => {
    const res = await runCli(['up', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--alerts-window-seconds V\s+alerts\.windowSeconds: an integer from 1 to 3600 \(default 1\)/);
    expect(res.stdout).toMatch(/--station-alerts-window-minutes V\s+stationAlerts\.windowMinutes: an integer from 1 to 1440 \(default 30\)/);
    expect(res.stdout).toMatch(/--reference-stations-file V\s+reference\.stationsFile: text\n/);
  });

  it('refuses a bad value naming the flag, and starts nothing', async () => {
    const dataDir = path.join(dir, 'bad');
    const res = await runCli(['up', '--port', '0', '--data-dir', dataDir, '--alerts-window-seconds', 'soon'], { cwd: dir });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim()).toBe("error: alerts.windowSeconds must be an integer from 1 to 3600, got 'soon' (flag --alerts-window-seconds) (CONFIG_INVALID)");
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
