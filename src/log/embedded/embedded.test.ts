import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeStreamLogConformance } from '../conformance.ts';
import { openEmbeddedLog } from '../index.ts';
import type { EmbeddedLogOptions, EmbeddedStreamLog } from '../index.ts';

describeStreamLogConformance(
  'embedded',
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-log-'));
    let clock = Date.now();
    const options: EmbeddedLogOptions = { dir, fsync: 'always', segmentBytes: 4096, indexIntervalBytes: 256, now: () => clock };
    let log: EmbeddedStreamLog = await openEmbeddedLog(options);
    return {
      get log() {
        return log;
      },
      async reopen() {
        await log.close();
        log = await openEmbeddedLog(options);
        return log;
      },
      advanceClock(ms: number) {
        clock += ms;
      },
      enforceRetention: () => log.enforceRetention(),
      async cleanup() {
        await log.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { clock: true, retention: { retentionBytes: 16 * 1024 } },
);
