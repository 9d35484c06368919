/** The SQL of webhook deliveries and dead letters. */
import type Database from 'better-sqlite3';
import type { JsonObject } from '../tables/index.ts';
import type { DeadLetter, DeliveryChannel } from './types.ts';

/** A pending delivery joined with the notification it carries. */
export interface DueDelivery {
  id: number;
  subscription_id: number;
  channel: DeliveryChannel;
  url: string;
  secret: string;
  attempts: number;
  topic: string;
  idempotency_key: string;
  message: string;
  created_at: number;
}

export interface DeadLetterRow {
  id: number;
  delivery_id: number;
  subscription_id: number;
  topic: string;
  channel: DeliveryChannel;
  url: string;
  idempotency_key: string;
  message: string;
  attempts: number;
  last_error: string;
  created_at: number;
}

export class DeliveryStore {
  readonly #stmts;

  constructor(db: Database.Database) {
    this.#stmts = {
      insert: db.prepare<[number, number, string, string, string, number, number, number]>(
        `INSERT INTO notify_deliveries (outbox_id, subscription_id, channel, url, secret, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (outbox_id, subscription_id) DO NOTHING`,
      ),
      due: db.prepare<[number, number], DueDelivery>(
        `SELECT d.id, d.subscription_id, d.channel, d.url, d.secret, d.attempts, o.topic, o.idempotency_key, o.message, o.created_at
         FROM notify_deliveries d JOIN notify_outbox o ON o.id = d.outbox_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?`,
      ),
      nextDue: db
        .prepare<[], number | null>("SELECT min(next_attempt_at) FROM notify_deliveries WHERE status = 'pending'")
        .pluck(),
      delivered: db.prepare<[number, number]>(
        "UPDATE notify_deliveries SET status = 'delivered', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?",
      ),
      failed: db.prepare<[number, string, number, number]>(
        'UPDATE notify_deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?',
      ),
      dead: db.prepare<[string, number, number]>(
        "UPDATE notify_deliveries SET status = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
      ),
      insertDead: db.prepare<[number, number]>(
        `INSERT INTO notify_dead_letters (delivery_id, subscription_id, topic, channel, url, idempotency_key, message, attempts, last_error, created_at)
         SELECT d.id, d.subscription_id, o.topic, d.channel, d.url, o.idempotency_key, o.message, d.attempts, d.last_error, ?
         FROM notify_deliveries d JOIN notify_outbox o ON o.id = d.outbox_id WHERE d.id = ?`,
      ),
      listDead: db.prepare<[number, number], DeadLetterRow>('SELECT * FROM notify_dead_letters WHERE id > ? ORDER BY id LIMIT ?'),
      deadById: db.prepare<[number], DeadLetterRow>('SELECT * FROM notify_dead_letters WHERE id = ?'),
      deleteDead: db.prepare<[number]>('DELETE FROM notify_dead_letters WHERE id = ?'),
      pruneDeliveries: db.prepare<[number]>(
        "DELETE FROM notify_deliveries WHERE status = 'delivered' AND outbox_id IN (SELECT id FROM notify_outbox WHERE created_at < ?)",
      ),
      // Rows with a pending or dead delivery, or not yet mirrored, stay: retries, redrives and the mirror read them.
      pruneOutbox: db.prepare<[number]>(
        `DELETE FROM notify_outbox WHERE created_at < ? AND dispatched_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM notify_deliveries d WHERE d.outbox_id = notify_outbox.id)
         AND NOT EXISTS (SELECT 1 FROM notify_mirror_pending m WHERE m.outbox_id = notify_outbox.id)`,
      ),
      countPending: db.prepare<[], number>("SELECT count(*) FROM notify_deliveries WHERE status = 'pending'").pluck(),
      countDead: db.prepare<[], number>('SELECT count(*) FROM notify_dead_letters').pluck(),
      requeue: db.prepare<[number, number, number]>(
        "UPDATE notify_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?",
      ),
    };
  }

  /** Call inside a transaction: removes delivered deliveries and fully handled outbox rows created before `before`. */
  prune(before: number): { outbox: number; deliveries: number } {
    const deliveries = this.#stmts.pruneDeliveries.run(before).changes;
    const outbox = this.#stmts.pruneOutbox.run(before).changes;
    return { outbox, deliveries };
  }

  counts(): { deliveriesPending: number; deadLetters: number } {
    return { deliveriesPending: this.#stmts.countPending.get() as number, deadLetters: this.#stmts.countDead.get() as number };
  }

  insert(outboxId: number, subscriptionId: number, channel: DeliveryChannel, url: string, secret: string, now: number): void {
    this.#stmts.insert.run(outboxId, subscriptionId, channel, url, secret, now, now, now);
  }

  due(now: number, limit: number): DueDelivery[] {
    return this.#stmts.due.all(now, limit);
  }

  /** The earliest next attempt of any pending delivery, or undefined when none is pending. */
  nextDueAt(): number | undefined {
    return this.#stmts.nextDue.get() ?? undefined;
  }

  markDelivered(id: number, now: number): void {
    this.#stmts.delivered.run(now, id);
  }

  markFailed(id: number, error: string, nextAttemptAt: number, now: number): void {
    this.#stmts.failed.run(nextAttemptAt, error, now, id);
  }

  /** Call inside a transaction: marks the delivery dead and records the dead letter. */
  markDead(id: number, error: string, now: number): void {
    this.#stmts.dead.run(error, now, id);
    this.#stmts.insertDead.run(now, id);
  }

  listDeadLetters(after: number, limit: number): DeadLetter[] {
    return this.#stmts.listDead.all(after, limit).map(toDeadLetter);
  }

  /** Call inside a transaction. False when there is no such dead letter. */
  redrive(deadLetterId: number, now: number): boolean {
    const row = this.#stmts.deadById.get(deadLetterId);
    if (!row) return false;
    this.#stmts.requeue.run(now, now, row.delivery_id);
    this.#stmts.deleteDead.run(deadLetterId);
    return true;
  }
}

export function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    subscriptionId: row.subscription_id,
    topic: row.topic,
    channel: row.channel,
    url: row.url,
    idempotencyKey: row.idempotency_key,
    message: JSON.parse(row.message) as JsonObject,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}
