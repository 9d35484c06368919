/**
 * The PostgreSQL layout of notifications, in a schema of their own (`tollstream_notify` on a cluster) that the
 * nodes share: the same tables as on SQLite, plus a claim on each delivery (which node sends it, until when) and
 * the Web Push key pair every node signs with.
 */
import type pg from 'pg';
import { migratePostgres } from '../tables/internal.ts';

export const NOTIFY_POSTGRES_SCHEMA = 'tollstream_notify';
const VERSION = 2;

// Messages are kept as the JSON text they were published as (JSONB would reorder their keys).
const DDL_V1 = `
CREATE TABLE IF NOT EXISTS notify_topics (
  name            text COLLATE "C" PRIMARY KEY,
  kind            text NOT NULL,
  customer_field  text,
  created_at      bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS notify_subscriptions (
  id           bigserial PRIMARY KEY,
  topic        text COLLATE "C" NOT NULL,
  protocol     text NOT NULL,
  customer_id  text COLLATE "C",
  url          text,
  secret       text,
  created_at   bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS notify_subscriptions_topic ON notify_subscriptions (topic, customer_id);

CREATE TABLE IF NOT EXISTS notify_outbox (
  id               bigserial PRIMARY KEY,
  idempotency_key  text COLLATE "C" NOT NULL UNIQUE,
  topic            text COLLATE "C" NOT NULL,
  message          text NOT NULL,
  created_at       bigint NOT NULL,
  dispatched_at    bigint
);
CREATE INDEX IF NOT EXISTS notify_outbox_pending ON notify_outbox (id) WHERE dispatched_at IS NULL;

-- Ids come from one sequence, taken by one fan-out at a time under a lock held to commit, so they grow in commit order.
CREATE TABLE IF NOT EXISTS notify_inbox (
  id               bigserial PRIMARY KEY,
  customer_id      text COLLATE "C" NOT NULL,
  outbox_id        bigint NOT NULL,
  topic            text NOT NULL,
  message          text NOT NULL,
  idempotency_key  text NOT NULL,
  created_at       bigint NOT NULL,
  read_at          bigint,
  UNIQUE (customer_id, outbox_id)
);
CREATE INDEX IF NOT EXISTS notify_inbox_customer ON notify_inbox (customer_id, id);

-- claimed_by / claim_until: the node sending it now; another takes it only once the claim has expired.
CREATE TABLE IF NOT EXISTS notify_deliveries (
  id               bigserial PRIMARY KEY,
  outbox_id        bigint NOT NULL,
  subscription_id  bigint NOT NULL,
  channel          text NOT NULL,
  url              text NOT NULL,
  secret           text NOT NULL,
  status           text NOT NULL,
  attempts         integer NOT NULL,
  next_attempt_at  bigint NOT NULL,
  last_error       text,
  claimed_by       text,
  claim_until      bigint,
  created_at       bigint NOT NULL,
  updated_at       bigint NOT NULL,
  UNIQUE (outbox_id, subscription_id)
);
CREATE INDEX IF NOT EXISTS notify_deliveries_due ON notify_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS notify_dead_letters (
  id               bigserial PRIMARY KEY,
  delivery_id      bigint NOT NULL UNIQUE,
  subscription_id  bigint NOT NULL,
  topic            text NOT NULL,
  channel          text NOT NULL,
  url              text NOT NULL,
  idempotency_key  text NOT NULL,
  message          text NOT NULL,
  attempts         integer NOT NULL,
  last_error       text NOT NULL,
  created_at       bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS notify_mirror_pending (
  outbox_id   bigint NOT NULL,
  stream      text COLLATE "C" NOT NULL,
  created_at  bigint NOT NULL,
  PRIMARY KEY (outbox_id, stream)
);
`;

// Version 2: the VAPID key pair every node signs Web Push with (one row, private key as JWK).
const DDL_V2 = `
CREATE TABLE IF NOT EXISTS notify_vapid_keys (
  id           smallint PRIMARY KEY CHECK (id = 1),
  private_jwk  text NOT NULL,
  created_at   bigint NOT NULL
);
`;

export function migrateNotifyPostgres(client: pg.ClientBase, schema: string): Promise<void> {
  return migratePostgres(client, schema, 'notify', VERSION, DDL_V1 + DDL_V2);
}
