import crypto from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { describeTableStoreConformance } from '../../src/tables/conformance.ts';
import { openPostgresTables, type TableStore } from '../../src/tables/index.ts';
import { postgresUrl } from './server.ts';

/** A fresh schema name; each test's stores live in it and it is dropped afterwards. */
function freshSchema(): string {
  return `tables_${crypto.randomBytes(6).toString('hex')}`;
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

describeTableStoreConformance('PostgreSQL', async () => {
  const url = postgresUrl();
  const schema = freshSchema();
  const open = () => openPostgresTables({ connectionString: url, schema, maxConnections: 4 });
  let store = await open();
  const peers: TableStore[] = [];
  return {
    store,
    reopen: async () => {
      await store.close();
      return (store = await open());
    },
    // A second pool: its own connections, as another node's would be.
    openPeer: async () => {
      const peer = await open();
      peers.push(peer);
      return peer;
    },
    cleanup: async () => {
      for (const peer of peers) await peer.close();
      await store.close();
      await dropSchema(url, schema);
    },
  };
});

describe('tables on PostgreSQL', () => {
  it('refuses U+0000 in keys and values up front, and the transaction it was caught in still commits', async () => {
    const url = postgresUrl();
    const schema = freshSchema();
    const store = await openPostgresTables({ connectionString: url, schema });
    try {
      await store.createTable('t');
      await store.transaction(async (tx) => {
        await tx.put('t', { pk: 'a' }, { n: 1 });
        await expect(tx.put('t', { pk: 'b\u0000' }, {})).rejects.toThrow('U+0000');
        await expect(tx.put('t', { pk: 'c' }, { s: 'x\u0000y' })).rejects.toThrow('U+0000');
        // A backslash followed by the text u0000 is an ordinary string.
        await tx.put('t', { pk: 'd' }, { s: '\\u0000' });
      });
      expect((await store.get('t', { pk: 'a' }))?.value).toEqual({ n: 1 });
      expect((await store.get('t', { pk: 'd' }))?.value).toEqual({ s: '\\u0000' });
    } finally {
      await store.close();
      await dropSchema(url, schema);
    }
  });

  it('a connection the server kills mid-transaction fails it with TABLES_UNAVAILABLE, commits nothing, and the next transaction runs', async () => {
    const url = postgresUrl();
    const schema = freshSchema();
    const store = await openPostgresTables({ connectionString: url, schema, maxConnections: 1 });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await store.createTable('t');
      const err = await store
        .transaction(async (tx) => {
          await tx.put('t', { pk: 'a' }, { n: 1 });
          // Only this test's connection: other work shares the server.
          const killed = await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'",
            [`tollstream-tables:${schema}`],
          );
          expect(killed.rowCount).toBe(1);
          await tx.put('t', { pk: 'b' }, { n: 1 });
        })
        .catch((e: unknown) => e);
      expect(isTollstreamError(err, 'TABLES_UNAVAILABLE')).toBe(true);
      expect(await store.get('t', { pk: 'a' })).toBeUndefined();
      await store.put('t', { pk: 'c' }, { n: 1 });
      expect((await store.scan('t')).items.map((i) => i.pk)).toEqual(['c']);
    } finally {
      await admin.end();
      await store.close();
      await dropSchema(url, schema);
    }
  });

  it('fails to open with TABLES_UNAVAILABLE naming the server without its password when it cannot be reached', async () => {
    const err = await openPostgresTables({ connectionString: 'postgres://u:secret@127.0.0.1:1/db' }).catch((e: unknown) => e);
    expect(isTollstreamError(err, 'TABLES_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('127.0.0.1:1');
    expect((err as Error).message).not.toContain('secret');
  });

  it('gives up with TABLES_CONFLICT after its attempts when every run meets a concurrent transaction', async () => {
    const url = postgresUrl();
    const schema = freshSchema();
    const store = await openPostgresTables({ connectionString: url, schema, maxAttempts: 3 });
    const other = await openPostgresTables({ connectionString: url, schema });
    try {
      await store.createTable('t');
      await store.put('t', { pk: 'hot' }, { n: 0 });
      let runs = 0;
      const err = await store
        .transaction(async (tx) => {
          runs++;
          await tx.get('t', { pk: 'hot' });
          // Another node commits a change to what this transaction read before it writes: a conflict, every time.
          await other.update('t', { pk: 'hot' }, { add: { n: 1 } });
          await tx.update('t', { pk: 'hot' }, { add: { n: 100 } });
        })
        .catch((e: unknown) => e);
      expect(isTollstreamError(err, 'TABLES_CONFLICT')).toBe(true);
      expect(runs).toBe(3);
      expect((await store.get('t', { pk: 'hot' }))?.value).toEqual({ n: 3 });
    } finally {
      await other.close();
      await store.close();
      await dropSchema(url, schema);
    }
  });
});
