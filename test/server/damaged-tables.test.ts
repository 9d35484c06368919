/**
 * The server's tables databases (`tables.db`, `station-alerts.db`) hold what the log cannot give back
 * (customers, subscriptions, the notification outbox). Damaged or lost, the start is refused, naming the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { isTollstreamError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { openTables } from '../../src/tables/index.ts';
import { startServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function config(): TollstreamConfig {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-damaged-tables-'));
  dirs.push(dataDir);
  return { ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false } };
}

const start = (cfg: TollstreamConfig) => startServer(cfg, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });

/** A first start and stop, so the data directory has its tables databases. */
async function used(cfg: TollstreamConfig): Promise<void> {
  const server = await start(cfg);
  await server.close();
}

describe('damaged or lost tables databases at start', () => {
  it('refuses to start when tables.db was deleted, instead of starting with no customers', async () => {
    const cfg = config();
    await used(cfg);
    const file = path.join(cfg.dataDir, 'tables.db');
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
    await expect(start(cfg)).rejects.toSatisfy((err) => isTollstreamError(err, 'TABLES_MISSING') && err.message.includes(file));
    // The refused start released the data directory: a start after the operator's decision works.
    fs.rmSync(`${file}.created`);
    const server = await start(cfg);
    await server.close();
  });

  it('refuses to start when pages of tables.db were flipped, naming the file', async () => {
    const cfg = config();
    await used(cfg);
    const file = path.join(cfg.dataDir, 'tables.db');
    // Enough items that the damaged pages are ones the start itself would never read.
    const tables = openTables({ path: file, synchronous: 'normal' });
    tables.createTable('filler');
    for (let i = 0; i < 3000; i++) tables.put('filler', { pk: `k-${i}` }, { text: 'y'.repeat(200) });
    tables.close();
    const pages = fs.statSync(file).size / 4096;
    const fd = fs.openSync(file, 'r+');
    for (let page = Math.floor(pages / 2); page < Math.floor(pages / 2) + 4; page++) {
      const header = Buffer.alloc(16);
      fs.readSync(fd, header, 0, 16, page * 4096);
      for (let i = 0; i < 16; i++) header[i] = header[i]! ^ 0xff;
      fs.writeSync(fd, header, 0, 16, page * 4096);
    }
    fs.closeSync(fd);
    await expect(start(cfg)).rejects.toSatisfy((err) => isTollstreamError(err, 'TABLES_CORRUPT') && err.message.includes(file));
  });
});
