/** The SQLite layout of notifications, in the tables database. */
import type Database from 'better-sqlite3';
import { migrate } from '../tables/internal.ts';

export const NOTIFY_SCHEMA_VERSION = 3;

const DDL_V1 = `
CREATE TABLE IF NOT EXISTS notify_topics (
  name            TEXT PRIMARY KEY,
  kind            TEXT NOT NULL,
  customer_field  TEXT,
  created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS notify_subscriptions (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  topic        TEXT NOT NULL,
  protocol     TEXT NOT NULL,
  customer_id  TEXT,
  url          TEXT,
  secret       TEXT,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS notify_subscriptions_topic ON notify_subscriptions (topic);

-- Written in the publisher's transaction; the unique key makes a repeated publish a no-op.
CREATE TABLE IF NOT EXISTS notify_outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key  TEXT NOT NULL UNIQUE,
  topic            TEXT NOT NULL,
  message          TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  dispatched_at    INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS notify_outbox_pending ON notify_outbox (id) WHERE dispatched_at IS NULL;

-- AUTOINCREMENT: ids are never reused, so an SSE Last-Event-ID always means the same point.
CREATE TABLE IF NOT EXISTS notify_inbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  customer_id      TEXT NOT NULL,
  outbox_id        INTEGER NOT NULL,
  topic            TEXT NOT NULL,
  message          TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  read_at          INTEGER,
  UNIQUE (customer_id, outbox_id)
) STRICT;
CREATE INDEX IF NOT EXISTS notify_inbox_customer ON notify_inbox (customer_id, id);
CREATE INDEX IF NOT EXISTS notify_inbox_unread ON notify_inbox (customer_id) WHERE read_at IS NULL;

-- One row per (notification, webhook subscription); url and secret are copied at fan-out.
CREATE TABLE IF NOT EXISTS notify_deliveries (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  outbox_id        INTEGER NOT NULL,
  subscription_id  INTEGER NOT NULL,
  url              TEXT NOT NULL,
  secret           TEXT NOT NULL,
  status           TEXT NOT NULL,
  attempts         INTEGER NOT NULL,
  next_attempt_at  INTEGER NOT NULL,
  last_error       TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  UNIQUE (outbox_id, subscription_id)
) STRICT;
CREATE INDEX IF NOT EXISTS notify_deliveries_due ON notify_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS notify_dead_letters (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id      INTEGER NOT NULL UNIQUE,
  subscription_id  INTEGER NOT NULL,
  topic            TEXT NOT NULL,
  url              TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL,
  message          TEXT NOT NULL,
  attempts         INTEGER NOT NULL,
  last_error       TEXT NOT NULL,
  created_at       INTEGER NOT NULL
) STRICT;
`;

// Version 2: messages of mirrored topics waiting to be appended to their stream, one row per (message, stream).
const DDL_V2 = `
CREATE TABLE IF NOT EXISTS notify_mirror_pending (
  outbox_id   INTEGER NOT NULL,
  stream      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (outbox_id, stream)
) STRICT;
CREATE INDEX IF NOT EXISTS notify_mirror_pending_stream ON notify_mirror_pending (stream, outbox_id);
`;

// Version 3: deliveries and dead letters say how they are sent (webhook, webpush, email); older rows are webhooks.
// Runs once, on a database below version 3 (a new one included, after DDL_V1 created the tables).
const DDL_V3 = `
ALTER TABLE notify_deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE notify_dead_letters ADD COLUMN channel TEXT NOT NULL DEFAULT 'webhook';
CREATE INDEX IF NOT EXISTS notify_subscriptions_customer ON notify_subscriptions (topic, customer_id) WHERE customer_id IS NOT NULL;
`;

/** V1 and V2 are all `IF NOT EXISTS`; V3 runs only on a database below version 3, which `migrate` guarantees. */
export function migrateNotify(db: Database.Database): void {
  migrate(db, 'notify', NOTIFY_SCHEMA_VERSION, DDL_V1 + DDL_V2 + DDL_V3);
}
