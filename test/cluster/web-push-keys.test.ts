/**
 * Web Push on two cluster nodes: a browser subscribes with the VAPID key of the node that served its page, and
 * any node may send the push, so every node must sign with the one key pair the cluster shares. The push of
 * node B to a browser subscribed through node A must verify under node A's key, as a real push service checks.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { api, createCustomers, recentTolls } from '../alerts/support.ts';
import { startClusterNodes, type ClusterNodes } from '../support/cluster-nodes.ts';
import { startPushService, type PushService } from '../support/push-service.ts';
import { waitFor } from '../support/wait.ts';

/** Whether the `vapid t=<jwt>, k=<key>` header's JWT is signed by the private half of `publicKey` (base64url point). */
function signedBy(authorization: string, publicKey: string): boolean {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=[\w-]+$/.exec(authorization);
  if (!m) return false;
  const point = Buffer.from(publicKey, 'base64url');
  const key = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(`${m[1]}.${m[2]}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(m[3]!, 'base64url'));
}

describe('Web Push keys on cluster nodes', () => {
  let cluster: ClusterNodes;
  let push: PushService;
  beforeAll(async () => {
    push = await startPushService();
    cluster = await startClusterNodes('vapid');
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    await push?.close();
  });

  it('gives one public key on every node, and a push sent by another node verifies under it', { timeout: 240_000 }, async () => {
    const alerts = spendAlertsConfig({ source: 'transactions', pushServices: [push.origin], pushSubject: 'mailto:ops@tolls.example' });
    const one = await cluster.node('node-1', alerts);
    const two = await cluster.node('node-2', alerts);
    const tokens = await createCustomers(one.url, new Map([['C0000007', 2500]]));
    const token = tokens.get('C0000007')!;

    const keyOfOne = (await api(one.url, 'GET', '/v1/me/push', undefined, token)).json.application_server_key as string;
    const keyOfTwo = (await api(two.url, 'GET', '/v1/me/push', undefined, token)).json.application_server_key as string;
    expect(keyOfOne).toMatch(/^[\w-]{87}$/);
    expect(keyOfTwo).toBe(keyOfOne);

    // The browser subscribes through node-1, which then stops: node-2 sends the push.
    const browser = push.subscribe();
    expect((await api(one.url, 'POST', '/v1/me/push/subscriptions', browser, token)).status).toBe(201);
    await one.close();
    const tolls = recentTolls('T-vapid', 'C0000007', [1200, 900, 1000]);
    const appended = await two.log.append('toll_transactions', tolls.map((t) => ({ data: Buffer.from(JSON.stringify(t)), partitionKey: t.customer_id })));
    expect(appended.every((r) => r.ok)).toBe(true);

    const pushed = await waitFor('the push through node-2', () => push.received[0], { timeoutMs: 90_000 });
    expect(pushed.problem).toBeUndefined();
    expect(pushed.vapidKey).toBe(keyOfOne);
    expect(signedBy(String(pushed.headers.authorization), keyOfOne)).toBe(true);
    expect(JSON.parse(pushed.payload!).data).toMatchObject({ type: 'threshold_breach', customer_id: 'C0000007', total_cents: 3100 });
  });
});
