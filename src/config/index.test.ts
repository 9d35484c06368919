import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envName, loadConfig } from './index.ts';

function tempDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-config-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('loadConfig', () => {
  it('uses the defaults when nothing is set', async () => {
    const cwd = tempDir();
    const config = await loadConfig({ cwd, env: {} });
    expect(config.port).toBe(4566);
    expect(config.storage.fsync).toBe('always');
    expect(config.dataDir).toBe(path.join(cwd, 'data'));
  });

  it('layers file, then environment, then flags', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ port: 5000, host: '0.0.0.0', logging: { level: 'warn' } }) });
    const config = await loadConfig({ cwd, env: { TOLLSTREAM_PORT: '5001', TOLLSTREAM_LOGGING_LEVEL: 'debug' }, flags: { port: '5002' } });
    expect(config.port).toBe(5002);
    expect(config.host).toBe('0.0.0.0');
    expect(config.logging.level).toBe('debug');
    expect(config.logging.format).toBe('json');
  });

  it('reads a TypeScript config file', async () => {
    const cwd = tempDir({ 'tollstream.config.ts': 'export default { port: 4999 as number, storage: { segmentBytes: 1048576 } };\n' });
    const config = await loadConfig({ cwd, env: {} });
    expect(config.port).toBe(4999);
    expect(config.storage.segmentBytes).toBe(1048576);
    expect(config.storage.indexIntervalBytes).toBe(4096);
  });

  it('names an unknown key in the file', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ storage: { fsynk: 'always' } }) });
    await expect(loadConfig({ cwd, env: {} })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { key: 'storage.fsynk' } });
  });

  it('names an unknown environment variable', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_PROT: '1' } })).rejects.toThrow(/TOLLSTREAM_PROT/);
  });

  it('rejects ill-typed values with the key and the source', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_PORT: 'eighty' } })).rejects.toThrow(/port must be an integer.*TOLLSTREAM_PORT/);
    await expect(loadConfig({ cwd: tempDir(), env: {}, flags: { 'storage.fsync': 'sometimes' } })).rejects.toThrow(/storage.fsync must be one of/);
  });

  it('rejects conflicting options', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_STORAGE_FSYNC_INTERVAL_MS: '50' } })).rejects.toThrow(
      /storage.fsyncIntervalMs conflicts with storage.fsync 'always'/,
    );
    const ok = await loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_STORAGE_FSYNC: 'interval', TOLLSTREAM_STORAGE_FSYNC_INTERVAL_MS: '50' } });
    expect(ok.storage.fsyncIntervalMs).toBe(50);
  });

  it('refuses two config files at once', async () => {
    const cwd = tempDir({ 'tollstream.config.json': '{}', 'tollstream.config.ts': 'export default {};' });
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/keep one/);
  });

  it('checks declared streams', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ streams: [{ name: 'a', dedupe: { mode: 'field' } }] }) });
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/streams\[0\].dedupe.field is required/);
  });

  it('maps keys to environment variable names', () => {
    expect(envName('storage.fsyncIntervalMs')).toBe('TOLLSTREAM_STORAGE_FSYNC_INTERVAL_MS');
    expect(envName('dataDir')).toBe('TOLLSTREAM_DATA_DIR');
  });
});
