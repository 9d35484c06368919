import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.ts';
import { openStores, tempDir, waitFor, type Stores } from './testing/harness.ts';
import { WindowCloser } from './window-closer.ts';

const decoder = new TextDecoder();

describe('WindowCloser', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let stores: Stores;
  let closer: WindowCloser | undefined;

  beforeEach(async () => {
    temp = await tempDir();
    stores = await openStores(temp.dir);
    await stores.log.createStream('valid', { shardCount: 1, dedupe: { mode: 'key' } });
  });

  afterEach(async () => {
    await closer?.stop();
    await stores.close();
    await temp.remove();
  });

  async function heartbeats(): Promise<{ heartbeat: boolean; arrivalTime: number }[]> {
    const { records } = await stores.log.read('valid', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    return records.map((r) => ({ ...(JSON.parse(decoder.decode(r.data)) as { heartbeat: boolean }), arrivalTime: r.arrivalTime }));
  }

  it('appends a heartbeat after the end of a window that got tolls, arriving after that end', async () => {
    closer = new WindowCloser({ log: stores.log, stream: 'valid', windowMs: 200, checkEveryMs: 10, logger: silentLogger });
    closer.start();
    // At start: windows restored from a checkpoint may be open, so the current one is closed.
    await waitFor('the first heartbeat', async () => (await heartbeats()).length === 1, 5_000);

    const passedAt = Date.now();
    closer.notePassed();
    const end = Math.floor(passedAt / 200) * 200 + 200;
    await waitFor('the second heartbeat', async () => (await heartbeats()).length === 2, 5_000);
    const second = (await heartbeats())[1]!;
    expect(second.heartbeat).toBe(true);
    expect(second.arrivalTime).toBeGreaterThanOrEqual(end);
    expect(closer.heartbeats).toBe(2);
  });
});
