import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDBWarehouse, QuerySlots, type Warehouse } from '../warehouse/index.ts';
import { formatScramVerifier, scramVerifier, startPgWireServer, type PgWireServer } from './index.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';

const run = promisify(execFile);

/** The part of pg's connection object the protocol test drives. */
interface PgConnection {
  on(event: string, listener: () => void): void;
  once(event: string, listener: (value: unknown) => void): void;
  off(event: string, listener: () => void): void;
  bind(config: { portal: string; statement: string; values: unknown[] }): void;
  query(text: string): void;
  sync(): void;
}
const PASSWORD = 'correct horse battery staple';
const ROWS = 2_500;
/** `pg_authid.rolpassword` of a role PostgreSQL 15 created with PASSWORD, for interoperability. */
const POSTGRES_VERIFIER = 'SCRAM-SHA-256$4096:/mL4tJ9foPUQEYDtH+wP7w==$1YRJMU9VB5LDmR281dJBMc1e9W9f9V2ov1GPhELqqAk=:dIIVpGPxKfRH8QeFllEuZjhS1ZdVCHVHQA0kNSQcw1U=';

/** `rows` toll transactions, P00..P04, 100 cents and up, one second apart from 2026-11-26 10:00 UTC. */
async function fill(warehouse: Warehouse, rows: number): Promise<void> {
  const start = Date.UTC(2026, 10, 26, 10, 0, 0);
  const batch = Array.from({ length: rows }, (_, i) => ({
    transaction_id: `tx-${i}`,
    customer_id: i % 2 === 0 ? `C${i % 7}` : null,
    tag_id: null,
    plate: `PL-${i}`,
    plaza_id: `P0${i % 5}`,
    lane: 1,
    vehicle_class: 2,
    amount_cents: 100 + i,
    currency: 'USD',
    event_time: start + i * 1000,
    arrival_time: start + i * 1000 + 250,
    shard_id: 'shardId-000000000000',
    sequence_number: String(i + 1).padStart(24, '0'),
  }));
  await warehouse.loadBatch({ table: 'toll_transactions', rows: batch, source: { stream: 'toll_transactions', positions: { 'shardId-000000000000': String(rows).padStart(24, '0') } } });
}

describe('the warehouse over the PostgreSQL wire protocol', () => {
  let dir: string;
  let warehouse: Warehouse;
  let server: PgWireServer;
  const clients: pg.Client[] = [];

  async function connect(options: { password?: string; user?: string } = {}): Promise<pg.Client> {
    const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: options.user ?? 'analyst', password: options.password ?? PASSWORD, database: 'warehouse' });
    clients.push(client);
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async function psql(sql: string, password = PASSWORD): Promise<string> {
    const { stdout } = await run('psql', ['-X', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'analyst', '-d', 'warehouse', '-c', sql], {
      env: { PATH: process.env.PATH ?? '', PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
    });
    return stdout;
  }

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-pgwire-'));
    warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb'), threads: 1, maxResultRows: 2_000 });
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    await fill(warehouse, ROWS);
    server = await startPgWireServer({ warehouse, user: 'analyst', password: PASSWORD, slots: new QuerySlots({ perCaller: 2, total: 8 }), maxResultRows: 2_000 }, 0, '127.0.0.1');
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await server?.close();
    await warehouse?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers psql with the warehouse rows (simple query protocol, SCRAM password)', async () => {
    const out = await psql("SELECT plaza_id, count(*) AS n, sum(amount_cents) AS cents FROM toll_transactions GROUP BY plaza_id ORDER BY plaza_id");
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(5);
    // P00 holds i = 0, 5, ..., 2495: 500 rows, sum of (100 + i).
    const p00 = Array.from({ length: 500 }, (_, k) => 100 + 5 * k).reduce((a, b) => a + b, 0);
    expect(lines[0]).toBe(`P00|500|${p00}`);
  });

  it('answers pg with typed values: integers, text, timestamps and NULL as PostgreSQL sends them', async () => {
    const client = await connect();
    const r = await client.query("SELECT transaction_id, customer_id, amount_cents, lane, event_time FROM toll_transactions WHERE transaction_id IN ('tx-0', 'tx-1') ORDER BY transaction_id");
    expect(r.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['transaction_id', 1043],
      ['customer_id', 1043],
      ['amount_cents', 20],
      ['lane', 23],
      ['event_time', 1114],
    ]);
    expect(r.rows[0]).toMatchObject({ transaction_id: 'tx-0', customer_id: 'C0', amount_cents: '100', lane: 1 });
    expect(r.rows[1].customer_id).toBeNull();
    // pg reads a timestamp without zone in the client's local zone; compare the wall-clock text.
    const t = r.rows[0].event_time as Date;
    expect([t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds()]).toEqual([2026, 10, 26, 10, 0, 0]);
  });

  it('binds parameters of the extended protocol and fetches a portal in parts', async () => {
    const client = await connect();
    const r = await client.query({ text: 'SELECT count(*)::INTEGER AS n FROM toll_transactions WHERE plaza_id = $1 AND amount_cents >= $2', values: ['P03', 1000] });
    // P03: i = 3, 8, ... with 100 + i >= 1000, i.e. i >= 900: i = 903 .. 2498 step 5 -> 320 rows.
    expect(r.rows).toEqual([{ n: 320 }]);
    const named = { name: 'by-plaza', text: 'SELECT transaction_id FROM toll_transactions WHERE plaza_id = $1 ORDER BY sequence_number LIMIT 3', values: ['P01'] };
    expect((await client.query(named)).rows.map((x) => x.transaction_id)).toEqual(['tx-1', 'tx-6', 'tx-11']);
    named.values = ['P02'];
    expect((await client.query(named)).rows.map((x) => x.transaction_id)).toEqual(['tx-2', 'tx-7', 'tx-12']);
  });

  it('answers what BI tools ask when they connect', async () => {
    const client = await connect();
    const version = (await client.query('SELECT version()')).rows[0].version as string;
    expect(version).toMatch(/^PostgreSQL 15\.0 /);
    expect((await client.query('select pg_catalog.version()')).rows[0].version).toBe(version);
    await client.query('SET extra_float_digits = 3');
    await client.query("SET application_name = 'Metabase v0.50'");
    expect((await client.query('SHOW application_name')).rows).toEqual([{ application_name: 'Metabase v0.50' }]);
    expect((await client.query('SHOW TRANSACTION ISOLATION LEVEL')).rows).toEqual([{ transaction_isolation: 'read committed' }]);
    expect((await client.query('SHOW standard_conforming_strings')).rows).toEqual([{ standard_conforming_strings: 'on' }]);
    expect((await client.query('select current_schema()')).rows).toEqual([{ 'current_schema()': 'main' }]);
    await client.query('BEGIN');
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.query('COMMIT');
    const tables = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name");
    expect(tables.rows.map((x) => x.table_name)).toContain('toll_transactions');
    const columns = await client.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'toll_transactions' ORDER BY ordinal_position");
    expect(columns.rows[0]).toEqual({ column_name: 'transaction_id', data_type: 'VARCHAR' });
    const catalog = await client.query(
      "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'main' AND c.relkind = 'r' ORDER BY c.relname",
    );
    expect(catalog.rows.map((x) => x.relname)).toContain('toll_transactions');
    // Columns joined to their types through pg_attribute, with a regclass literal, as drivers write it.
    const typed = await client.query(
      "SELECT pg_attribute.attname, t.typname FROM pg_catalog.pg_attribute JOIN pg_catalog.pg_type t ON t.oid = pg_attribute.atttypid WHERE attrelid = 'toll_transactions'::regclass AND attnum <= 3 ORDER BY attnum",
    );
    expect(typed.rows).toEqual([
      { attname: 'transaction_id', typname: 'varchar' },
      { attname: 'customer_id', typname: 'varchar' },
      { attname: 'tag_id', typname: 'varchar' },
    ]);
    const amount = await client.query("SELECT t.typname FROM pg_catalog.pg_attribute AS a, pg_catalog.pg_type t WHERE a.atttypid = t.oid AND a.attname = 'amount_cents'");
    expect(amount.rows).toEqual([{ typname: 'int8' }]);
    await expect(client.query('SHOW no_such_setting')).rejects.toMatchObject({ code: '42704' });
  });

  it("lists tables and schemas with psql's \\dt and \\dn", async () => {
    expect((await psql('\\dt')).trim().split('\n')).toEqual([
      'main|_delivery_errors|table|tollstream',
      'main|_delivery_positions|table|tollstream',
      'main|toll_transactions|table|tollstream',
    ]);
    expect((await psql('\\dn')).trim().split('\n')).toEqual(['main|tollstream']);
  });

  it("lists tables with sizes with psql's \\dt+ and databases with \\l", async () => {
    // Schema, name, type, owner, persistence, access method, size, description: DuckDB keeps no size per table.
    expect((await psql('\\dt+')).trim().split('\n')).toEqual([
      'main|_delivery_errors|table|tollstream|permanent|||',
      'main|_delivery_positions|table|tollstream|permanent|||',
      'main|toll_transactions|table|tollstream|permanent|||',
    ]);
    expect((await psql('\\dt+ toll*')).trim().split('\n')).toEqual(['main|toll_transactions|table|tollstream|permanent|||']);
    // Name, owner, encoding, collate, ctype, ICU locale, locale provider, access privileges.
    expect((await psql('\\l')).trim().split('\n')).toEqual(['warehouse|tollstream|UTF8|C|C||libc|']);
  });

  it("describes a table with psql's \\d NAME (columns, PostgreSQL's type names, nullability) and lists relations with \\d", async () => {
    expect((await psql('\\d toll_transactions')).trim().split('\n')).toEqual([
      'transaction_id|character varying||not null|',
      'customer_id|character varying|||',
      'tag_id|character varying|||',
      'plate|character varying|||',
      'plaza_id|character varying||not null|',
      'lane|integer||not null|',
      'vehicle_class|smallint||not null|',
      'amount_cents|bigint||not null|',
      'currency|character varying||not null|',
      'event_time|timestamp without time zone||not null|',
      'arrival_time|timestamp without time zone||not null|',
      'shard_id|character varying||not null|',
      'sequence_number|character varying||not null|',
    ]);
    // A table with a primary key: psql also asks for its indexes.
    expect((await psql('\\d _delivery_positions')).trim().split('\n')[0]).toBe('stream|character varying||not null|');
    expect((await psql('\\d')).trim().split('\n')).toContain('main|toll_transactions|table|tollstream');
    expect((await psql('\\dt toll*')).trim().split('\n')).toEqual(['main|toll_transactions|table|tollstream']);
    await expect(psql('\\d no_such_table')).rejects.toMatchObject({ stderr: expect.stringContaining('Did not find any relation named "no_such_table"') });
  });

  it('runs several statements of one psql query string in order', async () => {
    const out = await psql('SET search_path = main; SELECT 41 + 1; SELECT 2');
    // psql prints the tag of a statement without rows (SET), as it does against PostgreSQL.
    expect(out.trim().split('\n')).toEqual(['SET', '42', '2']);
  });

  it('is read-only: a write is refused with SQLSTATE 25006 and changes nothing', async () => {
    const client = await connect();
    await expect(client.query("DELETE FROM toll_transactions WHERE plaza_id = 'P00'")).rejects.toMatchObject({ code: '25006' });
    await expect(client.query("INSERT INTO toll_transactions (transaction_id) VALUES ('x')")).rejects.toMatchObject({ code: '25006' });
    await expect(client.query('CREATE TABLE stolen AS SELECT * FROM toll_transactions')).rejects.toMatchObject({ code: '25006' });
    expect((await client.query('SELECT count(*)::INTEGER AS n FROM toll_transactions')).rows).toEqual([{ n: ROWS }]);
    // The connection is still usable after the errors.
    expect((await client.query({ text: 'SELECT $1::INTEGER + 1 AS n', values: [1] })).rows).toEqual([{ n: 2 }]);
  });

  it('stops an answer beyond maxResultRows with SQLSTATE 54000, in both protocols', async () => {
    const client = await connect();
    await expect(client.query('SELECT * FROM toll_transactions')).rejects.toMatchObject({ code: '54000' });
    await expect(client.query({ text: 'SELECT * FROM toll_transactions WHERE amount_cents > $1', values: [0] })).rejects.toMatchObject({ code: '54000' });
    expect((await client.query('SELECT * FROM toll_transactions LIMIT 2000')).rowCount).toBe(2000);
  });

  it('drops every message after an extended-protocol error up to the Sync, a simple query included', async () => {
    const client = await connect();
    // pg's connection object sends single protocol messages and reports each answer as an event.
    const connection = (client as unknown as { connection: PgConnection }).connection;
    const seen: string[] = [];
    const names = ['errorMessage', 'rowDescription', 'dataRow', 'commandComplete', 'readyForQuery'] as const;
    const listeners = names.map((name) => [name, () => seen.push(name)] as const);
    for (const [name, fn] of listeners) connection.on(name, fn);
    const ready = new Promise((resolve) => connection.once('readyForQuery', resolve));
    connection.bind({ portal: '', statement: 'no_such_statement', values: [] });
    connection.query('SELECT 1');
    connection.sync();
    await ready;
    for (const [name, fn] of listeners) connection.off(name, fn);
    expect(seen).toEqual(['errorMessage', 'readyForQuery']);
  });

  it('closes a connection whose startup packet claims more than 10,000 bytes, before reading it', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    const header = Buffer.alloc(8);
    header.writeInt32BE(1_000_000, 0);
    header.writeInt32BE(196608, 4);
    socket.write(header);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    await new Promise((resolve) => socket.on('close', resolve));
    const answer = Buffer.concat(received);
    expect(String.fromCharCode(answer[0]!)).toBe('E');
    expect(answer.toString('utf8')).toContain('C08P01');
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    await expect(connect({ password: 'wrong' })).rejects.toMatchObject({ code: '28P01' });
    await expect(connect({ user: 'postgres' })).rejects.toMatchObject({ code: '28P01' });
    await expect(psql('SELECT 1', 'wrong')).rejects.toMatchObject({ stderr: expect.stringContaining('password authentication failed for user "analyst"') });
  });

  it('accepts a SCRAM verifier instead of the password, ours or one PostgreSQL stored, so the config need not hold it', async () => {
    const ours = formatScramVerifier(scramVerifier(PASSWORD));
    expect(ours).not.toContain(PASSWORD);
    for (const verifier of [ours, POSTGRES_VERIFIER]) {
      const other = await startPgWireServer({ warehouse, user: 'analyst', password: verifier, slots: new QuerySlots({ perCaller: 2, total: 8 }), maxResultRows: 10 }, 0, '127.0.0.1');
      try {
        const client = new pg.Client({ host: '127.0.0.1', port: other.port, user: 'analyst', password: PASSWORD, database: 'warehouse' });
        await client.connect();
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        await client.end();
        const wrong = new pg.Client({ host: '127.0.0.1', port: other.port, user: 'analyst', password: 'nope', database: 'warehouse' });
        wrong.on('error', () => undefined);
        await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
      } finally {
        await other.close();
      }
    }
  });

  it('refuses a query beyond queriesPerCaller with SQLSTATE 53300 rather than queueing it', async () => {
    const slots = new QuerySlots({ perCaller: 2, total: 8 });
    const other = await startPgWireServer({ warehouse, user: 'analyst', password: PASSWORD, slots, maxResultRows: 10 }, 0, '127.0.0.1');
    try {
      const client = new pg.Client({ host: '127.0.0.1', port: other.port, user: 'analyst', password: PASSWORD });
      await client.connect();
      // Two queries of this user are running (the slots are shared with the HTTP routes the same way).
      const first = slots.acquire('pg:analyst');
      const second = slots.acquire('pg:analyst');
      await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '53300' });
      first();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      second();
      await client.end();
    } finally {
      await other.close();
    }
  });

  it('cancels a running query on a CancelRequest (57014) and the connection goes on', async () => {
    const client = await connect();
    let settled = false;
    const slow = client.query('SELECT count(*) FROM range(100000000000) a WHERE a % 7 = 3').then(
      () => 'finished',
      (e: { code: string }) => e.code,
    ).finally(() => (settled = true));
    // pg cancels through a new connection carrying the backend key; a cancel that arrives before the query
    // started is a no-op (as with PostgreSQL), so it is sent again until the query ends.
    const canceller = new pg.Client({ host: '127.0.0.1', port: server.port }) as unknown as { cancel(client: pg.Client, query: unknown): void };
    while (!settled) {
      canceller.cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await slow).toBe('57014');
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
