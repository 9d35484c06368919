/**
 * DuckDB as the reference: the same events loaded through the Appender into tables bid, auction and person
 * (ids, prices and categories as INTEGERs, which they fit; times as epoch-ms BIGINTs), and each query's reference SQL run over them in batch. Timed, so the report
 * can put a batch engine's figure next to ours; one thread, so both are per core.
 */
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { NexmarkEvents } from './nexmark.ts';

export interface Reference {
  /** Loads the events; returns the time it took, ms. */
  load(events: NexmarkEvents): Promise<number>;
  /** Runs `sql` and returns its rows (BIGINTs as numbers) and the time, ms. */
  query(sql: string): Promise<{ rows: Record<string, unknown>[]; ms: number }>;
  close(): void;
}

export async function openReference(): Promise<Reference> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const db = await instance.connect();
  return {
    load: (events) => load(db, events),
    async query(sql) {
      const started = performance.now();
      const reader = await db.runAndReadAll(sql);
      const ms = performance.now() - started;
      const rows = (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r) => {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(r)) out[k] = typeof v === 'bigint' ? Number(v) : v;
        return out;
      });
      return { rows, ms };
    },
    close() {
      db.closeSync();
      instance.closeSync();
    },
  };
}

async function load(db: DuckDBConnection, events: NexmarkEvents): Promise<number> {
  const started = performance.now();
  await db.run(`CREATE OR REPLACE TABLE bid (auction INTEGER, bidder INTEGER, price INTEGER, channel VARCHAR, url VARCHAR, dateTime BIGINT, extra VARCHAR)`);
  await db.run(`CREATE OR REPLACE TABLE auction (id INTEGER, itemName VARCHAR, description VARCHAR, initialBid INTEGER, reserve INTEGER,
    dateTime BIGINT, expires BIGINT, seller INTEGER, category INTEGER, extra VARCHAR)`);
  await db.run(`CREATE OR REPLACE TABLE person (id INTEGER, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR,
    dateTime BIGINT, extra VARCHAR)`);
  await append(db, 'bid', events.bids, (a, b) => {
    a.appendInteger(b.auction);
    a.appendInteger(b.bidder);
    a.appendInteger(b.price);
    a.appendVarchar(b.channel);
    a.appendVarchar(b.url);
    a.appendBigInt(BigInt(b.dateTime));
    a.appendVarchar(b.extra);
  });
  await append(db, 'auction', events.auctions, (a, x) => {
    a.appendInteger(x.id);
    a.appendVarchar(x.itemName);
    a.appendVarchar(x.description);
    a.appendInteger(x.initialBid);
    a.appendInteger(x.reserve);
    a.appendBigInt(BigInt(x.dateTime));
    a.appendBigInt(BigInt(x.expires));
    a.appendInteger(x.seller);
    a.appendInteger(x.category);
    a.appendVarchar(x.extra);
  });
  await append(db, 'person', events.persons, (a, p) => {
    a.appendInteger(p.id);
    a.appendVarchar(p.name);
    a.appendVarchar(p.emailAddress);
    a.appendVarchar(p.creditCard);
    a.appendVarchar(p.city);
    a.appendVarchar(p.state);
    a.appendBigInt(BigInt(p.dateTime));
    a.appendVarchar(p.extra);
  });
  return performance.now() - started;
}

async function append<T>(db: DuckDBConnection, table: string, rows: readonly T[], write: (a: DuckDBAppender, row: T) => void): Promise<void> {
  const appender = await db.createAppender(table);
  try {
    for (const row of rows) {
      write(appender, row);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
