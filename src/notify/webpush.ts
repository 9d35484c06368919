/**
 * Web Push, sent with node:crypto alone: the payload encrypted for the browser's subscription (RFC 8291,
 * `aes128gcm` content coding of RFC 8188) and the request signed for the push service with VAPID (RFC 8292,
 * an ES256 JWT). The application server's VAPID key pair is made once and kept: in a file (the data dir) on one
 * node, in the notifications' PostgreSQL schema on a cluster (postgres.ts), so that every node signs with it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TollstreamError } from '../core/errors.ts';

/** The application server's identity towards push services. */
export interface VapidKeys {
  /** The uncompressed P-256 public point (65 bytes), base64url: `applicationServerKey` in the browser. */
  readonly publicKey: string;
  readonly privateKey: crypto.KeyObject;
}

/** What the browser's `PushSubscription.toJSON()` gives. */
export interface PushTarget {
  readonly endpoint: string;
  /** The browser's P-256 public key (65 bytes uncompressed), base64url. */
  readonly p256dh: string;
  /** The 16-byte authentication secret, base64url. */
  readonly auth: string;
}

/** The record size written in the header; one record holds the whole payload. */
const RECORD_SIZE = 4096;
/** The largest plaintext one 4096-byte record carries (16 bytes of tag, 1 delimiter byte). */
export const MAX_PUSH_PAYLOAD_BYTES = RECORD_SIZE - 17;
/** A VAPID token is valid this long; RFC 8292 allows at most 24 hours. */
const TOKEN_LIFETIME_SECONDS = 12 * 3600;

/** Reads the key pair from `file`, or makes one and writes it there (owner-only, atomically). */
export function loadOrCreateVapidKeys(file: string): VapidKeys {
  const kept = readVapidKeys(file);
  if (kept) return kept;
  const jwk = vapidJwk();
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, `${jwk}\n`, { mode: 0o600, flag: 'wx' });
    const fd = fs.openSync(tmp, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new TollstreamError('IO_ERROR', `cannot write the Web Push key file ${file}: ${(err as Error).message}`, { context: { file }, cause: err });
  }
  return vapidKeysFromJwk(jwk, `the Web Push key file ${file}`, 'remove it');
}

/** The key pair kept in `file`, or undefined when there is no such file. */
export function readVapidKeys(file: string): VapidKeys | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TollstreamError('IO_ERROR', `cannot read the Web Push key file ${file}: ${(err as Error).message}`, { context: { file }, cause: err });
  }
  return vapidKeysFromJwk(text, `the Web Push key file ${file}`, 'remove it');
}

/** A new VAPID private key, or the one of `keys`, as JWK text. */
export function vapidJwk(keys?: VapidKeys): string {
  const privateKey = keys?.privateKey ?? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return JSON.stringify(privateKey.export({ format: 'jwk' }));
}

/** The key pair of a P-256 private key in JWK text; `where` names where it was kept, `remedy` says how to start over. */
export function vapidKeysFromJwk(text: string, where: string, remedy: string): VapidKeys {
  try {
    const jwk = JSON.parse(text) as crypto.JsonWebKey;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') throw new Error('not a P-256 private key in JWK form');
    const privateKey = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
    return { privateKey, publicKey: rawPublicKey(privateKey).toString('base64url') };
  } catch (err) {
    throw new TollstreamError('STATE_CORRUPT', `${where} is damaged (${(err as Error).message}); ${remedy} to make new keys (browsers then subscribe again)`, {
      context: { where },
      cause: err,
    });
  }
}

/** The 65-byte uncompressed point of an EC key. */
function rawPublicKey(key: crypto.KeyObject): Buffer {
  const jwk = crypto.createPublicKey(key).export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

/**
 * The `Authorization` header for a request to `endpoint` (RFC 8292 section 3): `vapid t=<JWT>, k=<public key>`,
 * the JWT naming the push service's origin (`aud`), an expiry (`exp`) and the operator's contact (`sub`).
 */
export function vapidAuthorization(endpoint: string, keys: VapidKeys, subject: string, nowMs: number): string {
  const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url');
  const claims = { aud: new URL(endpoint).origin, exp: Math.floor(nowMs / 1000) + TOKEN_LIFETIME_SECONDS, sub: subject };
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = crypto.sign('sha256', Buffer.from(`${header}.${body}`), { key: keys.privateKey, dsaEncoding: 'ieee-p1363' });
  return `vapid t=${header}.${body}.${signature.toString('base64url')}, k=${keys.publicKey}`;
}

/** Fixed inputs, for reproducing the RFC 8291 example; both are random otherwise. */
export interface EncryptInputs {
  readonly salt?: Buffer;
  /** The sender's one-time ECDH key pair. */
  readonly senderKey?: crypto.ECDH;
}

/** `plaintext` encrypted for `target` as one `aes128gcm` record, header included: the push request's body. */
export function encryptPushPayload(plaintext: Buffer, target: Pick<PushTarget, 'p256dh' | 'auth'>, inputs: EncryptInputs = {}): Buffer {
  if (plaintext.length > MAX_PUSH_PAYLOAD_BYTES) {
    throw new TollstreamError('PAYLOAD_TOO_LARGE', `a push payload holds at most ${MAX_PUSH_PAYLOAD_BYTES} bytes; this one is ${plaintext.length}`);
  }
  const uaPublic = Buffer.from(target.p256dh, 'base64url');
  const authSecret = Buffer.from(target.auth, 'base64url');
  const sender = inputs.senderKey ?? crypto.createECDH('prime256v1');
  if (!inputs.senderKey) sender.generateKeys();
  const asPublic = sender.getPublicKey();
  const ecdhSecret = sender.computeSecret(uaPublic);
  // RFC 8291 section 3.4: the shared secret and the auth secret make the input keying material...
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(crypto.hkdfSync('sha256', ecdhSecret, authSecret, keyInfo, 32));
  // ...from which RFC 8188 derives the content key and nonce with the record's salt.
  const salt = inputs.salt ?? crypto.randomBytes(16);
  const cek = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const cipher = crypto.createCipheriv('aes-128-gcm', cek, nonce);
  // The last (and only) record ends with the delimiter 0x02 and no padding.
  const encrypted = Buffer.concat([cipher.update(Buffer.concat([plaintext, Buffer.from([2])])), cipher.final(), cipher.getAuthTag()]);
  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header.writeUInt8(asPublic.length, 20);
  return Buffer.concat([header, asPublic, encrypted]);
}

/** Checks what a browser sends to subscribe; throws INVALID_ARGUMENT naming the field. */
export function assertPushTarget(target: PushTarget): void {
  let url: URL | undefined;
  try {
    url = new URL(target.endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || target.endpoint.length > 2048) {
    throw new TollstreamError('INVALID_ARGUMENT', 'the push endpoint must be an absolute https:// (or http://) URL of at most 2048 characters', { context: { field: 'endpoint' } });
  }
  const p256dh = /^[A-Za-z0-9_-]+$/.test(target.p256dh) ? Buffer.from(target.p256dh, 'base64url') : Buffer.alloc(0);
  if (p256dh.length !== 65 || p256dh[0] !== 4) {
    throw new TollstreamError('INVALID_ARGUMENT', 'keys.p256dh must be the base64url of an uncompressed P-256 public key (65 bytes)', { context: { field: 'keys.p256dh' } });
  }
  try {
    const probe = crypto.createECDH('prime256v1');
    probe.generateKeys();
    probe.computeSecret(p256dh);
  } catch {
    throw new TollstreamError('INVALID_ARGUMENT', 'keys.p256dh is not a point on the P-256 curve', { context: { field: 'keys.p256dh' } });
  }
  const auth = /^[A-Za-z0-9_-]+$/.test(target.auth) ? Buffer.from(target.auth, 'base64url') : Buffer.alloc(0);
  if (auth.length !== 16) {
    throw new TollstreamError('INVALID_ARGUMENT', 'keys.auth must be the base64url of the 16-byte authentication secret', { context: { field: 'keys.auth' } });
  }
}
