/**
 * A dedupe window whose key bound cuts it short says so: the keys forgotten early are counted on /metrics, the
 * effective window (age of the oldest key kept) drops below the configured one, and one warning line is logged.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.ts';
import { createGatewayMetrics } from '../gateway/metrics.ts';
import { Registry } from '../metrics/index.ts';
import { openEmbeddedLog } from './index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-dedupe-evict-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\{stream="keyed"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('a dedupe window cut short by its key bound', () => {
  it('counts the keys forgotten early, shows the shorter reach and logs one warning', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', format: 'json', write: (line) => lines.push(line) });
    let now = Date.UTC(2026, 11, 7, 12, 0, 0);
    const log = await openEmbeddedLog({ dir, fsync: 'always', dedupeMaxKeys: 100, logger, now: () => now });
    const registry = new Registry();
    createGatewayMetrics(registry, log);
    try {
      await log.createStream('keyed', { dedupe: { mode: 'key', windowSeconds: 3600 } });
      // One key a second: 100 keys fill the bound within the hour, and nothing is forgotten yet.
      const put = (from: number, n: number) =>
        log.append('keyed', Array.from({ length: n }, (_, i) => ({ partitionKey: 'p', data: Buffer.from('x'), idempotencyKey: `tx-${from + i}` })));
      for (let i = 0; i < 100; i++, now += 1000) await put(i, 1);
      await registry.collect();
      let text = registry.render();
      expect(metric(text, 'tollstream_dedupe_evicted_early_total')).toBe(0);
      expect(metric(text, 'tollstream_dedupe_effective_window_seconds')).toBe(100);
      expect(lines.filter((l) => l.includes('dedupe window is cut short'))).toHaveLength(0);

      // 150 more: 150 keys forgotten while still within the hour; the window reaches back 100 s, not 3,600.
      for (let i = 100; i < 250; i++, now += 1000) await put(i, 1);
      await registry.collect();
      text = registry.render();
      expect(metric(text, 'tollstream_dedupe_evicted_early_total')).toBe(150);
      expect(metric(text, 'tollstream_dedupe_effective_window_seconds')).toBe(100);
      const warnings = lines.filter((l) => l.includes('dedupe window is cut short'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn', stream: 'keyed', windowSeconds: 3600, reachSeconds: 100, maxKeys: 100, evictedEarly: 1 });
      // A retry of a key forgotten early is stored again: what the counter warns about.
      expect((await put(0, 1))[0]).toMatchObject({ duplicate: false });
    } finally {
      await log.close();
    }
  });
});
