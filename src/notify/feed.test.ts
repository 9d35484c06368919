import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InboxEntry } from './index.ts';
import { openFixture, waitFor, type NotifyFixture } from './test-helpers.ts';

let f: NotifyFixture;

beforeEach(() => {
  f = openFixture();
  f.notify.createTopic('alerts', { kind: 'inbox' });
  f.notify.start();
});

afterEach(async () => {
  await f.close();
});

let published = 0;
function publish(customer: string): void {
  published++;
  f.notify.publish('alerts', { customer_id: customer, n: published }, { idempotencyKey: `k-${published}` });
}

/** Takes `count` entries from the feed, publishing `during(i)` after the i-th one arrives. */
async function take(feed: AsyncIterable<InboxEntry>, count: number, during?: (i: number) => void): Promise<InboxEntry[]> {
  const got: InboxEntry[] = [];
  for await (const entry of feed) {
    got.push(entry);
    during?.(got.length);
    if (got.length === count) break;
  }
  return got;
}

describe('inbox live feed', () => {
  it('replays after lastEventId, then yields new entries live, with no gap and no repeat', async () => {
    for (let i = 0; i < 3; i++) publish('c-1');
    publish('c-2');
    await waitFor('replayable entries', () => f.notify.listInbox('c-1').length === 3);
    const history = f.notify.listInbox('c-1');

    const controller = new AbortController();
    const feed = f.notify.inboxEvents('c-1', { lastEventId: String(history[0]?.id), signal: controller.signal });
    // Entries published while the replay is being read must follow it exactly once.
    const got = await take(feed, 5, (i) => {
      if (i <= 2) publish('c-1');
      if (i === 3) (publish('c-2'), publish('c-1'));
    });
    controller.abort();

    const all = f.notify.listInbox('c-1');
    expect(all).toHaveLength(6);
    expect(got.map((e) => e.id)).toEqual(all.slice(1).map((e) => e.id));
    expect(got.every((e) => e.customerId === 'c-1')).toBe(true);
  });

  it('a reconnect with the last seen id resumes exactly after it', async () => {
    publish('c-1');
    publish('c-1');
    const first = new AbortController();
    const seen = await take(f.notify.inboxEvents('c-1', { signal: first.signal }), 2);
    first.abort();

    publish('c-1');
    const second = new AbortController();
    const resumed = await take(f.notify.inboxEvents('c-1', { lastEventId: seen[1]?.id, signal: second.signal }), 1);
    second.abort();
    expect(resumed.map((e) => e.message.n)).toEqual([published]);
    expect(resumed[0]?.id).toBeGreaterThan(seen[1]?.id ?? Infinity);
  });

  it('ends quietly when its signal aborts while waiting', async () => {
    const controller = new AbortController();
    const done = take(f.notify.inboxEvents('c-quiet', { signal: controller.signal }), 1);
    setTimeout(() => controller.abort(), 20);
    await expect(done).resolves.toEqual([]);
  });

  it('ends quietly when the database closes, so streams end at shutdown', async () => {
    const done = take(f.notify.inboxEvents('c-closing'), 1);
    await new Promise((r) => setTimeout(r, 10));
    f.tables.close();
    await expect(done).resolves.toEqual([]);
  });

  it('rejects a malformed Last-Event-ID before iterating', () => {
    expect(() => f.notify.inboxEvents('c-1', { lastEventId: 'abc' })).toThrow(/not an inbox event id/);
  });
});
