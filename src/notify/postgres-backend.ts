/**
 * The dispatcher's and the mirror relay's work in the PostgreSQL schema the nodes share (see postgres.ts): a page
 * of the outbox is fanned out by the node that takes it (FOR UPDATE SKIP LOCKED), a delivery is sent under a
 * claim that expires, and mirror rows are held while they are appended.
 */
import type pg from 'pg';
import type { DueDelivery } from './deliveries.ts';
import { customerOf, fanOutPlan, type DispatchBackend } from './dispatcher.ts';
import type { MirrorBackend, PendingRow } from './mirror.ts';
import type { OutboxRow, SubscriptionRow } from './store.ts';
import type { DeliveryChannel, TopicDescription } from './types.ts';

/** One statement, in a transaction or on the pool. */
export type Query = <R extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** The database's clock in ms: claims are compared on one clock, whatever the nodes' clocks say. */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export interface BackendDeps {
  readonly transaction: <T>(fn: (q: Query) => Promise<T>) => Promise<T>;
  readonly query: Query;
  readonly topicOf: (query: Query, name: string) => Promise<TopicDescription | undefined>;
  readonly schema: string;
  readonly channel: string;
  readonly claimant: string;
  readonly claimMs: number;
  readonly channels: readonly DeliveryChannel[];
}

export function postgresDispatchBackend(deps: BackendDeps): DispatchBackend {
  const { transaction, query, topicOf, schema, channel, claimant, claimMs, channels } = deps;
  const subscriptionsOf = async (q: Query, topic: string) =>
    (await q<SubscriptionRow>("SELECT * FROM notify_subscriptions WHERE topic = $1 AND protocol <> 'webpush' ORDER BY id", [topic])).rows;
  return {
    undispatched: async (limit) =>
      (await query<OutboxRow>('SELECT id, idempotency_key, topic, message, created_at FROM notify_outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1', [limit])).rows,
    topic: (name) => topicOf(query, name),
    fanOutSubscriptionsOf: (topic) => subscriptionsOf(query, topic),
    fanOut: (limit, addresses, mirrorStreams, t) =>
      transaction(async (q) => {
        // One fan-out at a time across the nodes, held to commit: rows go out in outbox order, and inbox ids are
        // taken in commit order, so a feed reading `id > cursor` can never pass an entry that commits later with a
        // smaller id. The rows are claimed too (SKIP LOCKED), so each is fanned out by one node, once.
        await q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:notify-fan-out:${schema}`]);
        const rows = (
          await q<OutboxRow>('SELECT id, idempotency_key, topic, message, created_at FROM notify_outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED', [limit])
        ).rows;
        const touched = new Set<string>();
        const subscriptions = new Map<string, SubscriptionRow[]>();
        let deliveries = 0;
        for (const row of rows) {
          if (!addresses.has(row.id)) break;
          const customerId = customerOf(await topicOf(q, row.topic), row.message);
          if (!subscriptions.has(row.topic)) subscriptions.set(row.topic, await subscriptionsOf(q, row.topic));
          const push =
            customerId === undefined
              ? []
              : (await q<SubscriptionRow>("SELECT * FROM notify_subscriptions WHERE topic = $1 AND customer_id = $2 AND protocol = 'webpush' ORDER BY id", [row.topic, customerId])).rows;
          const plan = fanOutPlan(customerId, subscriptions.get(row.topic)!, push, addresses.get(row.id));
          for (const inbox of plan.inboxes) {
            const added = await q(
              `INSERT INTO notify_inbox (customer_id, outbox_id, topic, message, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (customer_id, outbox_id) DO NOTHING`,
              [inbox, row.id, row.topic, row.message, row.idempotency_key, t],
            );
            if (added.rowCount) touched.add(inbox);
          }
          for (const d of plan.deliveries) {
            await q(
              `INSERT INTO notify_deliveries (outbox_id, subscription_id, channel, url, secret, status, attempts, next_attempt_at, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6) ON CONFLICT (outbox_id, subscription_id) DO NOTHING`,
              [row.id, d.subscriptionId, d.channel, d.url, d.secret, t],
            );
            deliveries++;
          }
          for (const stream of mirrorStreams(row.topic)) {
            await q('INSERT INTO notify_mirror_pending (outbox_id, stream, created_at) VALUES ($1, $2, $3) ON CONFLICT (outbox_id, stream) DO NOTHING', [row.id, stream, t]);
          }
          await q('UPDATE notify_outbox SET dispatched_at = $1 WHERE id = $2', [t, row.id]);
        }
        // Delivered at commit: the feeds of these customers on every node read again, and idle dispatchers share the sends.
        for (const customerId of touched) await q('SELECT pg_notify($1, $2)', [channel, `inbox:${customerId}`]);
        if (deliveries > 0) await q('SELECT pg_notify($1, $2)', [channel, 'work']);
        return { taken: rows.length, touched: [...touched] };
      }),
    due: async (now, limit, inflight) =>
      (
        await query<DueDelivery>(
          `WITH taken AS (
             SELECT id FROM notify_deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1 AND (claim_until IS NULL OR claim_until < ${DB_NOW}) AND NOT (id = ANY($3::bigint[])) AND channel = ANY($6::text[])
             ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
           UPDATE notify_deliveries d SET claimed_by = $4, claim_until = ${DB_NOW} + $5
           FROM taken, notify_outbox o WHERE d.id = taken.id AND o.id = d.outbox_id
           RETURNING d.id, d.subscription_id, d.channel, d.url, d.secret, d.attempts, o.topic, o.idempotency_key, o.message, o.created_at`,
          [now, limit, [...inflight], claimant, claimMs, channels],
        )
      ).rows,
    nextDueAt: async () => (await query<{ at: number | null }>("SELECT min(next_attempt_at) AS at FROM notify_deliveries WHERE status = 'pending'")).rows[0]?.at ?? undefined,
    record: (delivery, outcome, subscriptionGone, t) =>
      transaction(async (q) => {
        const mine = 'id = $1 AND claimed_by = $2 AND status = $3';
        const values = [delivery.id, claimant, 'pending'];
        const changed =
          outcome.kind === 'delivered'
            ? await q(`UPDATE notify_deliveries SET status = 'delivered', attempts = attempts + 1, last_error = NULL, updated_at = $4, claimed_by = NULL, claim_until = NULL WHERE ${mine}`, [...values, t])
            : outcome.kind === 'dead'
              ? await q(`UPDATE notify_deliveries SET status = 'dead', attempts = attempts + 1, last_error = $4, updated_at = $5, claimed_by = NULL, claim_until = NULL WHERE ${mine}`, [...values, outcome.error, t])
              : await q(`UPDATE notify_deliveries SET attempts = attempts + 1, next_attempt_at = $4, last_error = $5, updated_at = $6, claimed_by = NULL, claim_until = NULL WHERE ${mine}`, [
                  ...values,
                  outcome.nextAttemptAt,
                  outcome.error,
                  t,
                ]);
        if (changed.rowCount === 0) return false;
        if (outcome.kind === 'dead') {
          await q(
            `INSERT INTO notify_dead_letters (delivery_id, subscription_id, topic, channel, url, idempotency_key, message, attempts, last_error, created_at)
             SELECT d.id, d.subscription_id, o.topic, d.channel, d.url, o.idempotency_key, o.message, d.attempts, d.last_error, $1
             FROM notify_deliveries d JOIN notify_outbox o ON o.id = d.outbox_id WHERE d.id = $2`,
            [t, delivery.id],
          );
        }
        if (subscriptionGone) await q('DELETE FROM notify_subscriptions WHERE id = $1', [delivery.subscription_id]);
        return true;
      }),
    async release(delivery) {
      await query('UPDATE notify_deliveries SET claimed_by = NULL, claim_until = NULL WHERE id = $1 AND claimed_by = $2', [delivery.id, claimant]);
    },
  };
}

export function postgresMirrorBackend(
  transaction: BackendDeps['transaction'],
  query: Query,
  topicOf: BackendDeps['topicOf'],
): MirrorBackend {
  return {
    topic: (name) => topicOf(query, name),
    // The rows stay locked while they are appended: another node's relay skips them, and takes them only if this
    // node dies first (its transaction then rolls back), appending them again with the same keys.
    take: (route, limit, append) =>
      transaction(async (q) => {
        const rows = (
          await q<PendingRow>(
            `SELECT p.outbox_id, o.idempotency_key, o.message FROM notify_mirror_pending p JOIN notify_outbox o ON o.id = p.outbox_id
             WHERE p.stream = $1 AND o.topic = $2 ORDER BY p.outbox_id LIMIT $3 FOR UPDATE OF p SKIP LOCKED`,
            [route.stream, route.topic, limit],
          )
        ).rows;
        const accepted = await append(rows);
        if (accepted.length > 0) {
          await q('DELETE FROM notify_mirror_pending WHERE stream = $1 AND outbox_id = ANY($2::bigint[])', [route.stream, accepted.map((r) => r.outbox_id)]);
        }
      }),
  };
}
