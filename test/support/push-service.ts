/**
 * A push service for tests, on 127.0.0.1 (random port), standing in for the browser vendor's: it checks each
 * request's VAPID signature (RFC 8292) against the key it names, and decrypts the payload (RFC 8291, aes128gcm)
 * with the private key of the browser subscription it made. The derivation here is written from the RFCs with
 * HMAC steps, independently of the sender's, so a shared mistake cannot pass unnoticed.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BrowserSubscription {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export interface ReceivedPush {
  readonly subscription: string;
  /** The decrypted payload, or undefined when it could not be decrypted (see `problem`). */
  readonly payload: string | undefined;
  /** Why the request was refused: a bad VAPID token, an undecryptable body; undefined when all was right. */
  readonly problem: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  /** The status this service answered. */
  readonly status: number;
  /** The JWT's claims. */
  readonly claims: { aud?: string; exp?: number; sub?: string } | undefined;
  /** The `k=` key of the Authorization header. */
  readonly vapidKey: string | undefined;
}

export interface PushService {
  readonly origin: string;
  readonly received: ReceivedPush[];
  /** A new browser subscription at this service, as `PushSubscription.toJSON()` gives it. */
  subscribe(): BrowserSubscription;
  /** The next `count` requests (to any subscription) are answered with `status`. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

interface Browser {
  readonly ecdh: crypto.ECDH;
  readonly auth: Buffer;
}

export async function startPushService(): Promise<PushService> {
  const received: ReceivedPush[] = [];
  const browsers = new Map<string, Browser>();
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let origin = '';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = (req.url ?? '').replace(/^\/push\//, '');
      const body = Buffer.concat(chunks);
      const auth = parseVapid(req.headers.authorization);
      let problem: string | undefined = auth.problem;
      if (!problem && auth.claims?.aud !== origin) problem = `the token's aud ${String(auth.claims?.aud)} is not this service (${origin})`;
      const nowSeconds = Date.now() / 1000;
      if (!problem && !(typeof auth.claims?.exp === 'number' && auth.claims.exp > nowSeconds && auth.claims.exp <= nowSeconds + 24 * 3600)) problem = 'exp is not within the next 24 hours';
      if (!problem && !/^(mailto:|https:)/.test(auth.claims?.sub ?? '')) problem = 'sub is not a mailto: or https: contact';
      if (!problem && req.headers['content-encoding'] !== 'aes128gcm') problem = 'the content encoding is not aes128gcm';
      if (!problem && !req.headers.ttl) problem = 'the TTL header is missing';
      const browser = browsers.get(id);
      if (!problem && !browser) problem = 'no such subscription';
      let payload: string | undefined;
      if (!problem && browser) {
        try {
          payload = decrypt(body, browser).toString('utf8');
        } catch (err) {
          problem = `cannot decrypt: ${(err as Error).message}`;
        }
      }
      let status = problem ? (browser ? 400 : 404) : 201;
      if (!problem && failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        status = failures.status;
      }
      received.push({ subscription: id, payload, problem, headers: req.headers, status, claims: auth.claims, vapidKey: auth.key });
      res.writeHead(status).end(problem ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    received,
    subscribe() {
      const ecdh = crypto.createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = crypto.randomBytes(16);
      const id = crypto.randomBytes(12).toString('base64url');
      browsers.set(id, { ecdh, auth });
      return { endpoint: `${origin}/push/${id}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
    },
    failNext(count, status) {
      failures = { count, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Checks `vapid t=<jwt>, k=<key>`: the ES256 signature of the JWT under the key it names. */
function parseVapid(header: string | undefined): { problem?: string; claims?: ReceivedPush['claims']; key?: string } {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(header ?? '');
  if (!m) return { problem: `the Authorization header is not "vapid t=..., k=...": ${String(header)}` };
  const [, h, c, s, k] = m as unknown as [string, string, string, string, string];
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) return { problem: 'k is not an uncompressed P-256 point', key: k };
  const key = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
  const header0 = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as ReceivedPush['claims'];
  if (header0.alg !== 'ES256') return { problem: `alg is ${String(header0.alg)}, not ES256`, claims, key: k };
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  return ok ? { claims, key: k } : { problem: 'the VAPID signature does not verify', claims, key: k };
}

const hmac = (key: Buffer, data: Buffer) => crypto.createHmac('sha256', key).update(data).digest();

/** The browser's side of RFC 8291 section 3.4 and RFC 8188 section 2, one record. */
function decrypt(body: Buffer, browser: Browser): Buffer {
  if (body.length < 21) throw new Error('the body is shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderPublic = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  if (record.length > recordSize) throw new Error(`the record is longer (${record.length}) than the record size ${recordSize}`);
  const shared = browser.ecdh.computeSecret(senderPublic);
  const uaPublic = browser.ecdh.getPublicKey();
  // HKDF with one output block is extract (HMAC with the salt) then expand (HMAC of info || 0x01).
  const prkKey = hmac(browser.auth, shared);
  const ikm = hmac(prkKey, Buffer.concat([Buffer.from('WebPush: info'), Buffer.from([0]), uaPublic, senderPublic, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.concat([Buffer.from('Content-Encoding: aes128gcm'), Buffer.from([0, 1])])).subarray(0, 16);
  const nonce = hmac(prk, Buffer.concat([Buffer.from('Content-Encoding: nonce'), Buffer.from([0, 1])])).subarray(0, 12);
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('the last record does not end with the delimiter 0x02');
  return padded.subarray(0, end);
}
