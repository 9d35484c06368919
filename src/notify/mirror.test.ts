import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openTables, type Tables } from '../tables/index.ts';
import { openNotify } from './index.ts';
import { TEST_RETRY, waitFor } from './test-helpers.ts';
import type { MirrorAppend, MirrorOptions, Notify } from './types.ts';

const decoder = new TextDecoder();

let dir: string;
let log: StreamLog;
let opened: Array<{ tables: Tables; notify: Notify }> = [];

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tollstream-notify-mirror-'));
  log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'interval' });
  // Deduplicated on the field that carries the idempotency key, as the breach stream is.
  await log.createStream('breaches', { shardCount: 2, dedupe: { mode: 'field', field: 'breach_id' } });
});

afterEach(async () => {
  for (const { notify, tables } of opened) {
    await notify.stop();
    tables.close();
  }
  opened = [];
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(mirror: MirrorOptions): { tables: Tables; notify: Notify } {
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  const notify = openNotify({ tables, retry: TEST_RETRY, pollIntervalMs: 20, mirror });
  notify.createTopic('spend-alerts', { kind: 'inbox', ifNotExists: true });
  notify.createTopic('other', { ifNotExists: true });
  opened.push({ tables, notify });
  return { tables, notify };
}

const toLog: MirrorAppend = (stream, records) => log.append(stream, records);
const routes = [{ topic: 'spend-alerts', stream: 'breaches', keyField: 'breach_id' }];

/** Every record of the stream, each as its parsed JSON plus its partition key. */
async function streamRecords(stream: string): Promise<Array<{ partitionKey: string; value: Record<string, unknown> }>> {
  const out: Array<{ partitionKey: string; value: Record<string, unknown> }> = [];
  for (const shard of (await log.describeStream(stream)).shards) {
    const { records } = await log.read(stream, shard.shardId, { type: 'TRIM_HORIZON' });
    for (const r of records) out.push({ partitionKey: r.partitionKey, value: JSON.parse(decoder.decode(r.data)) as Record<string, unknown> });
  }
  return out;
}

async function waitForRecords(stream: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await streamRecords(stream)).length < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} records in ${stream}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('mirroring a topic to a stream', () => {
  it('appends each message of the mirrored topic once, with its key in the key field, and leaves other topics alone', async () => {
    const { notify } = open({ routes, append: toLog });
    notify.start();
    const message = { type: 'threshold_breach', customer_id: 'c-1', month: '2026-11', threshold_cents: 5000, total_cents: 5125 };
    notify.publish('spend-alerts', message, { idempotencyKey: 'breach:c-1:2026-11:5000' });
    notify.publish('spend-alerts', message, { idempotencyKey: 'breach:c-1:2026-11:5000' });
    notify.publish('other', { customer_id: 'c-1' }, { idempotencyKey: 'other-1' });
    notify.publish('spend-alerts', { ...message, customer_id: 'c-2' }, { idempotencyKey: 'breach:c-2:2026-11:5000' });

    await waitFor('both breaches mirrored', () => notify.stats().outboxPending === 0 && notify.stats().mirrorsPending === 0);
    const records = await streamRecords('breaches');
    expect(records.sort((a, b) => a.partitionKey.localeCompare(b.partitionKey))).toEqual([
      { partitionKey: 'c-1', value: { ...message, breach_id: 'breach:c-1:2026-11:5000' } },
      { partitionKey: 'c-2', value: { ...message, customer_id: 'c-2', breach_id: 'breach:c-2:2026-11:5000' } },
    ]);
    // The inbox is fed as before.
    expect(notify.listInbox('c-1').map((e) => e.idempotencyKey)).toEqual(['breach:c-1:2026-11:5000']);
  });

  it('a crash after the append but before its bookkeeping appends again on restart, and the stream stores the message once', async () => {
    const calls: string[][] = [];
    let crashAfterAppend = true;
    const first = open({
      routes,
      append: async (stream, records) => {
        calls.push(records.map((r) => r.idempotencyKey));
        const results = await log.append(stream, records);
        // The process dies with the record durable in the stream and the pending row not yet removed.
        if (crashAfterAppend) first.tables.close();
        return results;
      },
    });
    first.notify.start();
    first.notify.publish('spend-alerts', { customer_id: 'c-9', total_cents: 7000 }, { idempotencyKey: 'breach:c-9:2026-11:6000' });
    await waitFor('the first append', () => calls.length === 1);
    await waitForRecords('breaches', 1);
    await first.notify.stop();

    crashAfterAppend = false;
    const second = open({
      routes,
      append: async (stream, records) => {
        calls.push(records.map((r) => r.idempotencyKey));
        return log.append(stream, records);
      },
    });
    expect(second.notify.stats().mirrorsPending).toBe(1);
    second.notify.start();
    await waitFor('the repeated append', () => second.notify.stats().mirrorsPending === 0);
    expect(calls).toEqual([['breach:c-9:2026-11:6000'], ['breach:c-9:2026-11:6000']]);
    expect((await streamRecords('breaches')).map((r) => r.value.breach_id)).toEqual(['breach:c-9:2026-11:6000']);
    // Nothing more after yet another restart: the message is no longer pending.
    await second.notify.stop();
    second.tables.close();
    const third = open({ routes, append: toLog });
    third.notify.start();
    third.notify.publish('spend-alerts', { customer_id: 'c-9', total_cents: 7000 }, { idempotencyKey: 'breach:c-9:2026-11:6000' });
    expect(third.notify.stats()).toMatchObject({ outboxPending: 0, mirrorsPending: 0 });
    expect((await streamRecords('breaches')).length).toBe(1);
  });

  it('keeps a message pending while the stream refuses it and appends it once the stream takes it', async () => {
    let failures = 0;
    const { notify } = open({
      routes: [{ topic: 'other', stream: 'late' }],
      append: async (stream, records) => {
        // The stream does not exist at first: the append throws STREAM_NOT_FOUND, like a log that is not ready.
        if (failures < 2) failures += 1;
        return log.append(stream, records);
      },
    });
    notify.start();
    notify.publish('other', { n: 1 }, { idempotencyKey: 'late-1' });
    await waitFor('two failed appends', () => failures === 2);
    expect(notify.stats().mirrorsPending).toBe(1);
    await log.createStream('late', { dedupe: { mode: 'key' } });
    await waitFor('the message mirrored', () => notify.stats().mirrorsPending === 0);
    expect(await streamRecords('late')).toEqual([{ partitionKey: 'late-1', value: { n: 1, idempotency_key: 'late-1' } }]);
  });

  it('refuses a route listed twice or a bad key field when notifications open', () => {
    const tables = openTables({ path: path.join(dir, 'bad.db') });
    try {
      expect(() => openNotify({ tables, mirror: { routes: [...routes, ...routes], append: toLog } })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
      expect(() => openNotify({ tables, mirror: { routes: [{ topic: 'a', stream: 's', keyField: 'no-dash' }], append: toLog } })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    } finally {
      tables.close();
    }
  });
});
