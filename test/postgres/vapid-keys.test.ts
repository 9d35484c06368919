/**
 * The Web Push key pair of the shared notifications: nodes opening the same schema, together or later, sign with
 * one pair that the first of them stored (the one it offered, or a new one); a node given a pair of its own signs
 * with that one.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateVapidKeys, openPostgresNotify, type PostgresNotify, type VapidKeys } from '../../src/notify/index.ts';
import { postgresSchema } from './server.ts';

const opened: PostgresNotify[] = [];
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const n of opened.splice(0)) await n.close();
  while (cleanups.length) await cleanups.pop()!();
});

function schemaOfTest() {
  const db = postgresSchema('vapid');
  cleanups.push(() => db.cleanup());
  const open = async (given: { keys?: VapidKeys; offerKeys?: VapidKeys } = {}) => {
    const notify = await openPostgresNotify({ connectionString: db.url, schema: db.schema, webPush: { subject: 'mailto:ops@tolls.example', ...given } });
    opened.push(notify);
    return notify;
  };
  return { db, open };
}

describe('the Web Push keys of notifications in PostgreSQL', () => {
  it('gives every node the one pair the first stored, also to nodes that open at the same moment', async () => {
    const { db, open } = schemaOfTest();
    const nodes = await Promise.all(Array.from({ length: 4 }, () => open()));
    const keys = new Set(nodes.map((n) => n.webPushPublicKey()));
    expect(keys.size).toBe(1);
    const [key] = [...keys];
    expect(key).toMatch(/^[\w-]{87}$/);
    // A node that opens later (or again after a restart) reads the same pair back.
    expect((await open()).webPushPublicKey()).toBe(key);
    expect((await db.admin(`SELECT count(*)::int AS n FROM "${db.schema}".notify_vapid_keys`)).rows[0].n).toBe(1);
  });

  it('signs with a pair the node is given, and leaves the shared one to the others', async () => {
    const { open } = schemaOfTest();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-vapid-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const own = loadOrCreateVapidKeys(path.join(dir, 'vapid.json'));
    const shared = (await open()).webPushPublicKey();
    expect((await open({ keys: own })).webPushPublicKey()).toBe(own.publicKey);
    expect(own.publicKey).not.toBe(shared);
    expect((await open()).webPushPublicKey()).toBe(shared);
  });

  it("stores the pair a node offers (its earlier vapid.json) when there is none yet, and keeps it against later offers", async () => {
    const { open } = schemaOfTest();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-vapid-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const [earlier, another] = [loadOrCreateVapidKeys(path.join(dir, 'a.json')), loadOrCreateVapidKeys(path.join(dir, 'b.json'))];
    expect((await open({ offerKeys: earlier })).webPushPublicKey()).toBe(earlier.publicKey);
    expect((await open({ offerKeys: another })).webPushPublicKey()).toBe(earlier.publicKey);
    expect((await open()).webPushPublicKey()).toBe(earlier.publicKey);
  });

  it('refuses to open on a damaged stored pair, naming where it is', async () => {
    const { db, open } = schemaOfTest();
    await open();
    await db.admin(`UPDATE "${db.schema}".notify_vapid_keys SET private_jwk = $1`, [JSON.stringify({ kty: 'EC', crv: 'P-256', x: crypto.randomBytes(32).toString('base64url') })]);
    await expect(open()).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining('notify_vapid_keys') });
  });
});
