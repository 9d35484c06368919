/**
 * The PostgreSQL the tests use: `TOLLSTREAM_TEST_POSTGRES_URL`, or, on a developer machine without it, the
 * throwaway server `.ci/postgres.sh` starts (or reuses) on 127.0.0.1. In CI a missing URL fails the tests
 * rather than skipping them. Every fixture gets its own schema and drops it on cleanup.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openPostgresWarehouse, type PostgresWarehouseOptions, type Warehouse } from '../../src/warehouse/index.ts';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.ci/postgres.sh');
let cached: string | undefined;

export function postgresUrl(): string {
  if (cached) return cached;
  const fromEnv = process.env.TOLLSTREAM_TEST_POSTGRES_URL;
  if (fromEnv) return (cached = fromEnv);
  if (process.env.CI) {
    throw new Error('TOLLSTREAM_TEST_POSTGRES_URL is not set: CI must start PostgreSQL with .ci/postgres.sh and export the URL it prints');
  }
  try {
    cached = execFileSync(SCRIPT, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`no PostgreSQL for the tests: set TOLLSTREAM_TEST_POSTGRES_URL, or install Debian's postgresql so ${SCRIPT} can start one.\n${stderr}`);
  }
  return cached;
}

export interface PostgresSchema {
  readonly url: string;
  readonly schema: string;
  open(options?: Omit<PostgresWarehouseOptions, 'connectionString' | 'schema'>): Promise<Warehouse>;
  /** Runs SQL as the owner, outside the warehouse (setup that the Warehouse interface does not offer). */
  admin(sql: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Drops the schema and everything in it. */
  cleanup(): Promise<void>;
}

/** A fresh schema with a unique name in the test database. */
export function postgresSchema(prefix = 't'): PostgresSchema {
  const url = postgresUrl();
  const schema = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  const admin = async (sql: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(sql, values);
    } finally {
      await client.end();
    }
  };
  return {
    url,
    schema,
    open: (options = {}) => openPostgresWarehouse({ connectionString: url, schema, ...options }),
    admin,
    cleanup: async () => {
      await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}
