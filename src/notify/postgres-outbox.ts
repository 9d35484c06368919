/**
 * The notification outbox on PostgreSQL. `tx.publish` in a transaction of tables on PostgreSQL writes a row
 * to `notify_outbox` in the tables' schema, in that transaction, so the notification exists exactly when
 * the function's state and checkpoint commit. A relay then moves committed rows into this node's
 * notifications (`notify.publish` with the row's idempotency key), where the dispatcher fans them out as it
 * does any other. The relay marks a row dispatched only after notify has committed it; a crash in between
 * relays the row again, and the idempotency key makes that second publish a no-op. Rows are claimed with
 * FOR UPDATE SKIP LOCKED, so relays of several nodes share the work and never move one row at once. A
 * publishing transaction also signals the schema's channel (NOTIFY, delivered at commit), which wakes the
 * relays of every node that listens; polling covers a listener that was disconnected.
 */
import pg from 'pg';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { JsonObject, TableStore } from '../tables/index.ts';
import { migratePostgres, postgresTablesInternals, type PostgresTxHandle } from '../tables/internal.ts';
import { checkPublish } from './checks.ts';
import type { Notify, PublishOptions, PublishResult } from './types.ts';

export const NOTIFY_POSTGRES_SCHEMA_VERSION = 1;

// The message is kept as the JSON text it was published as (JSONB would reorder its keys).
const DDL_V1 = `
CREATE TABLE IF NOT EXISTS notify_outbox (
  id               bigserial PRIMARY KEY,
  idempotency_key  text COLLATE "C" NOT NULL UNIQUE,
  topic            text NOT NULL,
  message          text NOT NULL,
  created_at       bigint NOT NULL,
  dispatched_at    bigint,
  last_error       text
);
CREATE INDEX IF NOT EXISTS notify_outbox_pending ON notify_outbox (id) WHERE dispatched_at IS NULL;
`;

/** Rows the relay claims per pass. */
const RELAY_PAGE = 100;

export interface PostgresOutboxOptions {
  /** Tables on PostgreSQL (`openPostgresTables`): their transactions get `tx.publish`, writing into their schema. */
  readonly store: TableStore;
  /** This node's notifications, which deliver what the relay moves. */
  readonly notify: Notify;
  /** How often the relay looks for rows that other nodes committed, in ms. @default 1000 */
  readonly pollIntervalMs?: number;
  readonly logger?: Logger;
}

export interface PostgresOutbox {
  /** Starts relaying in the background: at once after a local commit that published, otherwise every poll interval. */
  start(): void;
  /** Stops relaying and waits for a pass under way. */
  stop(): Promise<void>;
  /** Relays one page of committed rows now; returns how many rows it settled. */
  relayOnce(): Promise<number>;
  /** Rows committed and not yet relayed. */
  pending(): Promise<number>;
}

interface OutboxRow {
  id: string;
  idempotency_key: string;
  topic: string;
  message: string;
}

export async function openPostgresOutbox(options: PostgresOutboxOptions): Promise<PostgresOutbox> {
  const internals = postgresTablesInternals(options.store);
  const { pool, schema, now, notify } = { ...internals, notify: options.notify };
  // A channel name is at most 63 bytes; schemas sharing the first 53 characters only wake each other for nothing.
  const channel = `ts_outbox_${schema}`.slice(0, 63);
  const logger = (options.logger ?? internals.logger).child({ component: 'notify', outbox: 'postgres' });
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  if (!Number.isSafeInteger(pollIntervalMs) || pollIntervalMs < 1) {
    throw new TollstreamError('CONFIG_INVALID', 'pollIntervalMs must be a positive integer', { context: { pollIntervalMs } });
  }
  const client = await pool.connect().catch((err: unknown) => {
    throw new TollstreamError('TABLES_UNAVAILABLE', `cannot prepare the notification outbox in schema ${schema}: ${(err as Error).message}`, { cause: err });
  });
  try {
    await migratePostgres(client, schema, 'notify', NOTIFY_POSTGRES_SCHEMA_VERSION, DDL_V1);
  } finally {
    client.release();
  }

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> | undefined;
  let listener: pg.Client | undefined;

  /** Listens on the channel (again, after a lost connection); until it does, the poll finds other nodes' rows. */
  const listen = async (): Promise<void> => {
    if (listener || !running) return;
    const client = new pg.Client({ connectionString: internals.connectionString, application_name: `tollstream-outbox:${schema}` });
    listener = client;
    const drop = () => {
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', () => wake());
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
      if (!running) drop();
    } catch (err) {
      logger.warn('cannot listen for outbox rows of other nodes; polling only until the next try', { err });
      drop();
    }
  };

  const relayOnce = async (): Promise<number> => {
    const conn = await pool.connect();
    let broken = false;
    try {
      await conn.query('BEGIN');
      const rows = (
        await conn.query<OutboxRow>(
          'SELECT id, idempotency_key, topic, message FROM notify_outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [RELAY_PAGE],
        )
      ).rows;
      const relayed: string[] = [];
      for (const row of rows) {
        try {
          notify.publish(row.topic, JSON.parse(row.message) as JsonObject, { idempotencyKey: row.idempotency_key });
          relayed.push(row.id);
        } catch (err) {
          // A retriable failure (notify's database busy) ends the pass; the row waits for the next one. A row notify
          // refuses for good (its topic was deleted) is set aside with the reason, so it does not block the rest.
          if (!isTollstreamError(err) || err.retriable) throw err;
          logger.error('a notification from the PostgreSQL outbox was refused; it is set aside', { outboxId: row.id, topic: row.topic, err });
          await conn.query('UPDATE notify_outbox SET dispatched_at = $1, last_error = $2 WHERE id = $3', [now(), `${err.code}: ${err.message}`, row.id]);
        }
      }
      if (relayed.length > 0) await conn.query('UPDATE notify_outbox SET dispatched_at = $1 WHERE id = ANY($2::bigint[])', [now(), relayed]);
      await conn.query('COMMIT');
      return rows.length;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      conn.release(broken);
    }
  };

  const schedule = (delayMs: number): void => {
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
  };
  const tick = (): void => {
    if (!running || pass) return;
    void listen();
    let moved = 0;
    pass = relayOnce()
      .then(
        (n) => void (moved = n),
        (err: unknown) => logger.error('relaying the PostgreSQL outbox failed; retrying at the next poll', { err }),
      )
      .finally(() => {
        pass = undefined;
        if (running) schedule(moved >= RELAY_PAGE ? 0 : pollIntervalMs);
      });
  };
  const wake = (): void => {
    if (running && !pass) schedule(0);
  };

  const publishIn = async (tx: PostgresTxHandle, topicName: string, message: JsonObject, publishOptions: PublishOptions): Promise<PublishResult> => {
    const { key, text } = checkPublish(notify.describeTopic(topicName), message, publishOptions);
    const inserted = await tx.query<{ id: string }>(
      'INSERT INTO notify_outbox (idempotency_key, topic, message, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id',
      [key, topicName, text, now()],
    );
    const id = inserted.rows[0]?.id;
    if (id !== undefined) {
      await tx.query('SELECT pg_notify($1, $2)', [channel, '']);
      tx.afterCommit(wake);
      return { outboxId: Number(id), duplicate: false };
    }
    const existing = await tx.query<{ id: string }>('SELECT id FROM notify_outbox WHERE idempotency_key = $1', [key]);
    return { outboxId: Number(existing.rows[0]?.id), duplicate: true };
  };
  internals.decorate('publish', publishIn as (tx: PostgresTxHandle, ...args: never[]) => Promise<unknown>);

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
      await pass;
    },
    relayOnce,
    pending: async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM notify_outbox WHERE dispatched_at IS NULL')).rows[0]?.n ?? 0),
  };
}
