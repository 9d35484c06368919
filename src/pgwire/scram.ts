/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) on the server side, as PostgreSQL speaks it: the password never crosses the
 * connection, and the server keeps only a verifier (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`,
 * PostgreSQL's own `pg_authid` format), from which the password cannot be recovered.
 */
import crypto from 'node:crypto';
import { TollstreamError } from '../core/errors.ts';

export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;
const DEFAULT_ITERATIONS = 4096;

export function isScramVerifier(text: string): boolean {
  return VERIFIER.test(text);
}

/** Reads a verifier in PostgreSQL's format, or derives one from a password (a fresh random salt). */
export function scramVerifier(passwordOrVerifier: string): ScramVerifier {
  const m = VERIFIER.exec(passwordOrVerifier);
  if (m) {
    return { iterations: Number(m[1]), salt: Buffer.from(m[2]!, 'base64'), storedKey: Buffer.from(m[3]!, 'base64'), serverKey: Buffer.from(m[4]!, 'base64') };
  }
  const salt = crypto.randomBytes(16);
  const salted = crypto.pbkdf2Sync(passwordOrVerifier.normalize('NFKC'), salt, DEFAULT_ITERATIONS, 32, 'sha256');
  return { iterations: DEFAULT_ITERATIONS, salt, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** Formats a verifier as PostgreSQL stores it (for `bi.password`, so the config need not hold the password). */
export function formatScramVerifier(v: ScramVerifier): string {
  return `SCRAM-SHA-256$${v.iterations}:${v.salt.toString('base64')}$${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`;
}

/** One exchange: the client's first message in, the server's first out; then the client's final in, the server's final out. */
export class ScramExchange {
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';

  constructor(private readonly verifier: ScramVerifier) {}

  /** `n,,n=<user>,r=<client nonce>` -> `r=<nonce>,s=<salt>,i=<iterations>`. */
  serverFirstMessage(clientFirst: string): string {
    const m = /^([nyp])(=[^,]*)?,(a=[^,]*)?,(.*)$/.exec(clientFirst);
    if (!m || m[1] === 'p') throw refused('the client asked for channel binding or sent a malformed first SCRAM message');
    this.clientFirstBare = m[4]!;
    const clientNonce = attribute(this.clientFirstBare, 'r');
    if (!clientNonce) throw refused('the first SCRAM message has no nonce');
    this.nonce = clientNonce + crypto.randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    return this.serverFirst;
  }

  /** `c=biws,r=<nonce>,p=<proof>` -> `v=<server signature>`; throws UNAUTHORIZED when the proof is wrong. */
  serverFinalMessage(clientFinal: string): string {
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw refused('the final SCRAM message has no proof');
    const withoutProof = clientFinal.slice(0, proofAt);
    if (attribute(withoutProof, 'r') !== this.nonce) throw refused('the final SCRAM message carries another nonce');
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.verifier.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw refused('password authentication failed');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!crypto.timingSafeEqual(sha256(clientKey), this.verifier.storedKey)) throw refused('password authentication failed');
    return `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}`;
  }
}

function attribute(message: string, name: string): string | undefined {
  for (const part of message.split(',')) if (part.startsWith(`${name}=`)) return part.slice(name.length + 1);
  return undefined;
}

function hmac(key: Buffer, text: string): Buffer {
  return crypto.createHmac('sha256', key).update(text).digest();
}

function sha256(data: Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

function refused(message: string): TollstreamError {
  return new TollstreamError('UNAUTHORIZED', message);
}
