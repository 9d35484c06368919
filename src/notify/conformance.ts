/**
 * The conformance suite of notifications (`Notifications`): every backend runs it from one of its test files,
 *
 *   describeNotifyConformance('SQLite', async (options) => ({ notify, publishInTransaction, cleanup }), { sharedByNodes: false });
 *
 * It asserts only what a caller can observe through the interface: topics, publish once per idempotency key (in
 * a transaction of tables too, committed or rolled back), inbox fan-out once, listing and read marks, the live
 * feed without gaps or repeats across reconnects, subscriptions, webhook deliveries with retries, dead letters
 * and redrive, pruning. A backend whose nodes share storage also gives `openPeer`: the suite then checks that
 * what one node publishes reaches the other's inbox and feed.
 *
 * This file imports vitest, so it is a door for test files only and is not re-exported by `index.ts`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TollstreamError, type ErrorCode } from '../core/errors.ts';
import type { JsonObject } from '../tables/index.ts';
import { startWebhookReceiver, TEST_RETRY } from './test-helpers.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { InboxEntry, Notifications, NotifyOptions, PublishOptions, PublishResult } from './types.ts';

/** What the suite may set on the notifications it opens. */
export type ConformanceOptions = Pick<NotifyOptions, 'retry' | 'pollIntervalMs'>;

export interface NotifyHarness {
  readonly notify: Notifications;
  /**
   * Publishes through `tx.publish` in a transaction of the tables this backend gives it; when `thenFail`, the
   * transaction throws after publishing (and rolls back).
   */
  publishInTransaction(topic: string, message: JsonObject, options: PublishOptions, thenFail?: boolean): Promise<PublishResult>;
  /** Another node's notifications on the same storage (backends shared by nodes: `sharedByNodes`). */
  readonly openPeer?: () => Promise<Notifications>;
  /** Closes whatever is open and removes the storage. */
  cleanup(): Promise<void>;
}

async function expectCode(p: unknown, code: ErrorCode): Promise<void> {
  try {
    await (typeof p === 'function' ? (p as () => unknown)() : p);
  } catch (err) {
    if (!(err instanceof TollstreamError)) throw err;
    expect(err.code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

/** Every entry of a customer's inbox, oldest first. */
async function wholeInbox(notify: Notifications, customerId: string): Promise<InboxEntry[]> {
  const out: InboxEntry[] = [];
  for (;;) {
    const page = await notify.listInbox(customerId, { after: out.at(-1)?.id ?? 0, limit: 500 });
    out.push(...page);
    if (page.length < 500) return out;
  }
}

/** Takes `count` entries from a feed (ending it after), calling `after(i)` once the i-th has arrived. */
async function take(feed: AsyncIterable<InboxEntry>, count: number, after?: (i: number) => Promise<void>): Promise<InboxEntry[]> {
  const got: InboxEntry[] = [];
  if (count === 0) return got;
  for await (const entry of feed) {
    got.push(entry);
    await after?.(got.length);
    if (got.length === count) break;
  }
  return got;
}

export function describeNotifyConformance(name: string, open: (options: ConformanceOptions) => Promise<NotifyHarness>, backend: { readonly sharedByNodes: boolean }): void {
  describe(`notifications conformance: ${name}`, () => {
    let h: NotifyHarness;
    let notify: Notifications;
    const peers: Notifications[] = [];

    beforeEach(async () => {
      h = await open({ retry: TEST_RETRY, pollIntervalMs: 50 });
      notify = h.notify;
    });

    afterEach(async () => {
      for (const peer of peers.splice(0)) await peer.stop();
      await notify.stop();
      await h.cleanup();
    });

    it('creates, lists and describes topics; a second create needs ifNotExists and the same kind', async () => {
      const alerts = await notify.createTopic('alerts', { kind: 'inbox' });
      expect(alerts).toMatchObject({ name: 'alerts', kind: 'inbox', customerField: 'customer_id' });
      await notify.createTopic('ops');
      expect((await notify.listTopics()).map((t) => t.name)).toEqual(['alerts', 'ops']);
      expect(await notify.describeTopic('alerts')).toEqual(alerts);
      expect(await notify.createTopic('alerts', { kind: 'inbox', ifNotExists: true })).toEqual(alerts);
      await expectCode(() => notify.createTopic('alerts', { kind: 'inbox' }), 'INVALID_ARGUMENT');
      await expectCode(() => notify.createTopic('alerts', { kind: 'standard', ifNotExists: true }), 'INVALID_ARGUMENT');
      await expectCode(() => notify.createTopic('no spaces'), 'INVALID_ARGUMENT');
      await expectCode(() => notify.describeTopic('missing'), 'NOT_FOUND');
    });

    it('publishes once per idempotency key and refuses what cannot be delivered', async () => {
      await notify.createTopic('alerts', { kind: 'inbox' });
      const first = await notify.publish('alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'k-1' });
      const again = await notify.publish('alerts', { customer_id: 'c-1', n: 2 }, { idempotencyKey: 'k-1' });
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ outboxId: first.outboxId, duplicate: true });
      await expectCode(() => notify.publish('missing', { customer_id: 'c-1' }, { idempotencyKey: 'k-2' }), 'NOT_FOUND');
      await expectCode(() => notify.publish('alerts', { n: 3 }, { idempotencyKey: 'k-3' }), 'INVALID_ARGUMENT');
      await expectCode(() => notify.publish('alerts', { customer_id: 'c-1' }, { idempotencyKey: 'has space' }), 'INVALID_ARGUMENT');
      notify.start();
      await waitFor('the inbox entry', async () => (await notify.listInbox('c-1')).length === 1);
      expect((await notify.stats()).outboxPending).toBe(0);
      const [entry] = await notify.listInbox('c-1');
      expect(entry).toMatchObject({ customerId: 'c-1', topic: 'alerts', message: { customer_id: 'c-1', n: 1 }, idempotencyKey: 'k-1', read: false });
    });

    it('tx.publish commits with its transaction, and publishes nothing when the transaction rolls back', async () => {
      await notify.createTopic('alerts', { kind: 'inbox' });
      await expect(h.publishInTransaction('alerts', { customer_id: 'c-1', n: 0 }, { idempotencyKey: 'k-rolled-back' }, true)).rejects.toThrow();
      const committed = await h.publishInTransaction('alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'k-1' });
      const repeated = await h.publishInTransaction('alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'k-1' });
      expect(committed.duplicate).toBe(false);
      expect(repeated).toEqual({ outboxId: committed.outboxId, duplicate: true });
      // The rolled-back key was never taken: publishing it now is new.
      expect((await notify.publish('alerts', { customer_id: 'c-1', n: 2 }, { idempotencyKey: 'k-rolled-back' })).duplicate).toBe(false);
      await expect(h.publishInTransaction('missing', { customer_id: 'c-1' }, { idempotencyKey: 'k-3' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      notify.start();
      await waitFor('both entries', async () => (await notify.listInbox('c-1')).length === 2);
      expect((await notify.listInbox('c-1')).map((e) => e.message.n)).toEqual([1, 2]);
    });

    it('fans each message out to inboxes once; lists by id, marks read and counts unread per customer', async () => {
      await notify.createTopic('alerts', { kind: 'inbox' });
      await notify.subscribe('alerts', { protocol: 'inbox', customerId: 'auditor' });
      notify.start();
      for (let i = 1; i <= 120; i++) await notify.publish('alerts', { customer_id: `c-${i % 2}`, n: i }, { idempotencyKey: `k-${i}` });
      // Publishing the same keys again while the dispatcher runs adds nothing.
      for (let i = 1; i <= 120; i += 7) await notify.publish('alerts', { customer_id: `c-${i % 2}`, n: i }, { idempotencyKey: `k-${i}` });
      await waitFor('the auditor sees every message', async () => (await wholeInbox(notify, 'auditor')).length === 120);
      const odd = await wholeInbox(notify, 'c-1');
      expect(odd.map((e) => e.message.n)).toEqual(Array.from({ length: 60 }, (_, i) => 2 * i + 1));
      expect(new Set(odd.map((e) => e.id)).size).toBe(60);
      expect((await wholeInbox(notify, 'auditor')).map((e) => e.idempotencyKey)).toEqual(Array.from({ length: 120 }, (_, i) => `k-${i + 1}`));

      const page = await notify.listInbox('c-1', { after: odd[9]!.id, limit: 5 });
      expect(page.map((e) => e.id)).toEqual(odd.slice(10, 15).map((e) => e.id));
      const newest = await notify.listInbox('c-1', { order: 'desc', limit: 3 });
      expect(newest.map((e) => e.id)).toEqual(odd.slice(-3).reverse().map((e) => e.id));
      const before = await notify.listInbox('c-1', { order: 'desc', before: odd[5]!.id, limit: 2 });
      expect(before.map((e) => e.id)).toEqual([odd[4]!.id, odd[3]!.id]);
      await expectCode(() => notify.listInbox('c-1', { limit: 501 }), 'INVALID_ARGUMENT');

      const even = await wholeInbox(notify, 'c-0');
      expect(await notify.unreadCount('c-1')).toBe(60);
      // Ids of another customer's entries change nothing.
      expect(await notify.markRead('c-1', [odd[0]!.id, odd[1]!.id, even[0]!.id])).toBe(2);
      expect(await notify.markRead('c-1', [odd[0]!.id])).toBe(0);
      expect(await notify.unreadCount('c-1')).toBe(58);
      expect(await notify.unreadCount('c-0')).toBe(60);
      expect((await notify.listInbox('c-1', { limit: 2 })).map((e) => e.read)).toEqual([true, true]);
      await expectCode(() => notify.markRead('c-1', ['x' as unknown as number]), 'INVALID_ARGUMENT');
    });

    it('the live feed replays after Last-Event-ID, then follows, and a reconnect resumes with no gap and no repeat', async () => {
      await notify.createTopic('alerts', { kind: 'inbox' });
      notify.start();
      for (let i = 1; i <= 3; i++) await notify.publish('alerts', { customer_id: 'c-1', n: i }, { idempotencyKey: `k-${i}` });
      await waitFor('three entries', async () => (await notify.listInbox('c-1')).length === 3);
      const history = await notify.listInbox('c-1');
      let n = 3;
      const publishMore = async () => {
        n++;
        await notify.publish('alerts', { customer_id: 'c-1', n }, { idempotencyKey: `k-${n}` });
        await notify.publish('alerts', { customer_id: 'c-2', n }, { idempotencyKey: `other-${n}` });
      };
      const first = new AbortController();
      const seen = await take(notify.inboxEvents('c-1', { lastEventId: history[0]!.id, signal: first.signal }), 6, async (i) => {
        if (i >= 2) await publishMore();
      });
      first.abort();
      // Published while no feed was open: the reconnect replays them after the last id seen.
      await publishMore();
      await publishMore();
      const second = new AbortController();
      const resumed = await take(notify.inboxEvents('c-1', { lastEventId: String(seen.at(-1)!.id), signal: second.signal }), n - 1 - seen.length);
      second.abort();
      const all = [...seen, ...resumed].map((e) => e.message.n);
      expect(all).toEqual(Array.from({ length: n - 1 }, (_, i) => i + 2));
      expect(all.length).toBe(new Set([...seen, ...resumed].map((e) => e.id)).size);
      await expectCode(() => notify.inboxEvents('c-1', { lastEventId: 'abc' }), 'INVALID_ARGUMENT');
    });

    it('a feed ends quietly when its signal aborts', async () => {
      await notify.createTopic('alerts', { kind: 'inbox' });
      const stop = new AbortController();
      const feed = take(notify.inboxEvents('c-1', { signal: stop.signal }), 1);
      stop.abort();
      expect(await feed).toEqual([]);
    });

    it('keeps one subscription per webhook URL of a topic: subscribing it again, also twice at once, replaces it', async () => {
      await notify.createTopic('ops', { kind: 'standard' });
      const url = 'http://127.0.0.1:9/ops-hook';
      const first = await notify.subscribe('ops', { protocol: 'webhook', url, secret: 'the-first-secret-long-enough' });
      const [a, b] = await Promise.all([
        notify.subscribe('ops', { protocol: 'webhook', url, secret: 'the-second-secret-long-enough' }),
        notify.subscribe('ops', { protocol: 'webhook', url, secret: 'the-third-secret-long-enough' }),
      ]);
      const listed = await notify.listSubscriptions('ops');
      expect(listed).toHaveLength(1);
      expect([a.id, b.id]).toContain(listed[0]!.id);
      expect(listed[0]!.id).not.toBe(first.id);
      const other = await notify.subscribe('ops', { protocol: 'webhook', url: 'http://127.0.0.1:9/other-hook', secret: 'the-first-secret-long-enough' });
      expect((await notify.listSubscriptions('ops')).map((s) => s.id).sort((x, y) => x - y)).toEqual([listed[0]!.id, other.id].sort((x, y) => x - y));
    });

    it('keeps subscriptions: listed without secrets, a push endpoint once per customer, unsubscribed for good', async () => {
      await notify.createTopic('alerts', { kind: 'inbox' });
      const hook = await notify.subscribe('alerts', { protocol: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-enough-length' });
      const keys = { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' };
      const push = await notify.subscribe('alerts', { protocol: 'webpush', customerId: 'c-1', endpoint: 'https://push.example/1', ...keys });
      const pushAgain = await notify.subscribe('alerts', { protocol: 'webpush', customerId: 'c-1', endpoint: 'https://push.example/1', ...keys });
      expect(pushAgain.id).not.toBe(push.id);
      const listed = await notify.listSubscriptions('alerts');
      expect(listed.map((s) => s.id)).toEqual([hook.id, pushAgain.id]);
      expect(listed[0]).toMatchObject({ topic: 'alerts', protocol: 'webhook', url: 'http://127.0.0.1:9/hook' });
      expect(JSON.stringify(listed)).not.toContain('a-secret-of-enough-length');
      expect((await notify.pushSubscription('alerts', 'c-1', 'https://push.example/1'))?.id).toBe(pushAgain.id);
      expect(await notify.pushSubscription('alerts', 'c-2', 'https://push.example/1')).toBeUndefined();
      await notify.unsubscribe(hook.id);
      await expectCode(() => notify.unsubscribe(hook.id), 'NOT_FOUND');
      await expectCode(() => notify.subscribe('alerts', { protocol: 'webhook', url: 'ftp://x', secret: 'a-secret-of-enough-length' }), 'INVALID_ARGUMENT');
      await expectCode(() => notify.subscribe('missing', { protocol: 'inbox', customerId: 'c-1' }), 'NOT_FOUND');
      await expectCode(() => notify.listSubscriptions('missing'), 'NOT_FOUND');
    });

    it('delivers each message to a webhook once, signed; dead-letters after the last attempt, and a redrive delivers it', async () => {
      const secret = 'conformance-secret-of-enough-length';
      const receiver = await startWebhookReceiver(secret);
      const failing = await startWebhookReceiver(secret, Infinity);
      try {
        await notify.createTopic('ops');
        await notify.subscribe('ops', { protocol: 'webhook', url: receiver.url, secret });
        const broken = await notify.subscribe('ops', { protocol: 'webhook', url: failing.url, secret });
        notify.start();
        for (let i = 1; i <= 20; i++) await notify.publish('ops', { n: i }, { idempotencyKey: `ops-${i}` });
        await waitFor('20 deliveries', () => receiver.received.length >= 20);
        await waitFor('20 dead letters', async () => (await notify.stats()).deadLetters === 20);
        expect(receiver.received.map((r) => r.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `ops-${i + 1}`).sort());
        expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
        expect(failing.received.length).toBe(20 * TEST_RETRY.maxAttempts);
        const dead = await notify.listDeadLetters({ limit: 1000 });
        expect(dead).toHaveLength(20);
        expect(dead[0]).toMatchObject({ subscriptionId: broken.id, topic: 'ops', channel: 'webhook', url: failing.url, attempts: TEST_RETRY.maxAttempts, lastError: 'HTTP 500' });
        expect(await notify.stats()).toMatchObject({ outboxPending: 0, deliveriesPending: 0, deadLetters: 20 });

        await notify.unsubscribe(broken.id);
        await notify.subscribe('ops', { protocol: 'webhook', url: receiver.url, secret });
        const before = receiver.received.length;
        await notify.redriveDeadLetter(dead[0]!.id);
        await expectCode(() => notify.redriveDeadLetter(dead[0]!.id), 'NOT_FOUND');
        await waitFor('the redriven delivery is attempted again', () => failing.received.length > 20 * TEST_RETRY.maxAttempts);
        await waitFor('it is dead again', async () => (await notify.stats()).deadLetters === 20);
        expect(receiver.received.length).toBe(before);
      } finally {
        await receiver.close();
        await failing.close();
      }
    });

    it('prunes handled outbox rows before a time, which forgets their keys', async () => {
      await notify.createTopic('alerts', { kind: 'inbox' });
      notify.start();
      await notify.publish('alerts', { customer_id: 'c-1' }, { idempotencyKey: 'old' });
      await waitFor('the entry', async () => (await notify.listInbox('c-1')).length === 1);
      expect(await notify.prune({ before: Date.now() + 60_000 })).toEqual({ outbox: 1, deliveries: 0 });
      expect((await notify.publish('alerts', { customer_id: 'c-1' }, { idempotencyKey: 'old' })).duplicate).toBe(false);
      await waitFor('a second entry', async () => (await notify.listInbox('c-1')).length === 2);
      await expectCode(() => notify.prune({ before: Number.NaN }), 'INVALID_ARGUMENT');
    });

    // Only where nodes share the storage (one SQLite database belongs to one process).
    if (backend.sharedByNodes) it('nodes sharing the storage see each other: a publish through one reaches the inbox and live feed of another', async () => {
      if (!h.openPeer) throw new Error('a backend shared by nodes must give openPeer');
      const peer = await h.openPeer();
      peers.push(peer);
      await notify.createTopic('alerts', { kind: 'inbox' });
      notify.start();
      peer.start();
      const stop = new AbortController();
      const live = take(peer.inboxEvents('c-1', { signal: stop.signal }), 10);
      for (let i = 1; i <= 10; i++) await h.publishInTransaction('alerts', { customer_id: 'c-1', n: i }, { idempotencyKey: `k-${i}` });
      const got = await live;
      stop.abort();
      expect(got.map((e) => e.message.n)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect((await wholeInbox(notify, 'c-1')).map((e) => e.id)).toEqual(got.map((e) => e.id));
      const sub = await peer.subscribe('alerts', { protocol: 'inbox', customerId: 'auditor' });
      expect((await notify.listSubscriptions('alerts')).map((s) => s.id)).toContain(sub.id);
    });
  });
}
