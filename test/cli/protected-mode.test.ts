/** `tollstream up` beyond loopback without keys: one line that says what to set, and nothing started. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startUp, tempDir } from './helpers.ts';

const dir = tempDir('protected');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tollstream up and who may call', () => {
  it('refuses --host 0.0.0.0 without keys with one error line naming the settings', async () => {
    const dataDir = path.join(dir, 'open');
    const res = await runCli(['up', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: refusing to listen on 0\.0\.0\.0 with no auth\.apiKeys and no auth\.accessKeys: .*auth\.protectedMode: false .*\(CONFIG_INVALID\)$/);
    expect(fs.existsSync(dataDir)).toBe(false);
  });


  it('names the mode in its ready line', async () => {
    const up = await startUp(['--data-dir', path.join(dir, 'local')]);
    try {
      expect(up.readyLine).toBe(`tollstream ready at ${up.url} (local open mode: this machine only, no keys)`);
    } finally {
      await up.stop();
    }
  });
});
