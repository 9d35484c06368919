import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { LOCK_FILE, loadOrCreateSecret, lockDataDir, SECRET_FILE } from './data-dir.ts';

let dir: string;
let lines: string[];
let logger: Logger;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-datadir-'));
  lines = [];
  logger = createLogger({ write: (l) => lines.push(l) });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A pid that surely belongs to no running process: one that just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('data directory lock', () => {
  it('refuses a second holder while the first is alive, and frees the directory on release', () => {
    const lock = lockDataDir(dir, logger);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    let err: unknown;
    try {
      lockDataDir(dir, logger);
    } catch (e) {
      err = e;
    }
    expect(isTollstreamError(err, 'DATA_DIR_LOCKED')).toBe(true);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    lockDataDir(dir, logger).release();
  });

  it('takes over a lock left by a process that no longer runs, with a warning', () => {
    const stale = deadPid();
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${stale}\n`);
    const lock = lockDataDir(dir, logger);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'warn');
    expect(warning?.stalePid).toBe(stale);
    lock.release();
  });
});

describe('server secret', () => {
  it('is created once with mode 0600 and read back unchanged', () => {
    const first = loadOrCreateSecret(dir, logger);
    expect(first).toHaveLength(32);
    expect(fs.statSync(path.join(dir, SECRET_FILE)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecret(dir, logger).equals(first)).toBe(true);
  });

  it('tightens a secret file that others can read', () => {
    loadOrCreateSecret(dir, logger);
    fs.chmodSync(path.join(dir, SECRET_FILE), 0o644);
    loadOrCreateSecret(dir, logger);
    expect(fs.statSync(path.join(dir, SECRET_FILE)).mode & 0o777).toBe(0o600);
    expect(lines.some((l) => l.includes('restricting it to its owner'))).toBe(true);
  });
});
