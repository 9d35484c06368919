/**
 * Who may call Tollstream: SigV4 for the Kinesis and Firehose APIs, bearer API keys for the native API.
 * A pure module (no I/O); the gateway calls it for each request and maps the thrown codes to responses.
 */
import crypto from 'node:crypto';
import { TollstreamError } from '../../core/errors.ts';
import type { AccessKey } from '../../config/index.ts';
import {
  canonicalRequest,
  computeSignature,
  declaredPayloadHash,
  headerValue,
  parseAmzDate,
  MAX_PRESIGNED_EXPIRES_SECONDS,
  parseAuthorization,
  parsePresignedQuery,
  payloadHash,
  presignedPayloadHash,
  timingSafeEqualStrings,
  type HeaderMap,
  type PresignedQuery,
} from './sigv4.ts';

/** How far a request's `x-amz-date` may be from the server's clock, as AWS allows. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/**
 * Headers that choose what a request does (the operation, and how its body is read): when a request carries
 * one, the signature must cover it, or a captured request could be replayed as another operation.
 */
export const OPERATION_HEADERS: readonly string[] = ['x-amz-target', 'content-type'];
/** The SigV4 service names a credential scope may carry. */
export const SIGNING_SERVICES: readonly string[] = ['kinesis', 'firehose'];

export interface SigV4Request {
  /** `GET`, `POST`... */
  readonly method: string;
  /** The raw request target as received (`req.url`): path, still percent-encoded, plus query string. */
  readonly path: string;
  /**
   * The request headers with lowercase names, exactly as Node gives them in `req.headers` for HTTP/1.1 and
   * HTTP/2 (pseudo headers included): pass them unchanged. `host` and `:authority` stand in for each other,
   * because the AWS SDK over HTTP/2 signs `:authority` and other clients sign `host` whatever the protocol.
   */
  readonly headers: HeaderMap;
  /** The complete request body, as received. */
  readonly body: Buffer;
}

/** A request whose body is not read yet. */
export type SigV4Headers = Omit<SigV4Request, 'body'>;

export interface Authenticator {
  /** `local`: no access keys configured, any well-formed SigV4 request passes. `verify`: signatures are checked. */
  readonly mode: 'local' | 'verify';
  /**
   * Kinesis/Firehose requests, signed in the Authorization header or presigned in the query string. Throws
   * TollstreamError with code AUTH_MISSING (no or malformed signature), AUTH_UNKNOWN_KEY, AUTH_SIGNATURE_INVALID
   * or AUTH_SIGNATURE_EXPIRED (more than 15 minutes of clock skew; a presigned request past its X-Amz-Expires).
   */
  verifySigV4(req: SigV4Request): void;
  /**
   * What `verifySigV4` can check before the body is read, so that a request that will fail does not first take
   * the memory of its body: a well-formed Authorization header, and in verify mode the key, scope, clock and
   * signed headers, and the signature itself when the request declares its payload hash in
   * `x-amz-content-sha256`. Throws the same codes; `verifySigV4` must still be called with the body.
   */
  verifySigV4Headers(req: SigV4Headers): void;
  /**
   * Native API: the `Authorization` header value (`Bearer <api key>`). Throws TollstreamError UNAUTHORIZED when
   * API keys are configured and the header does not carry one of them; with no API keys configured, accepts anything.
   */
  verifyBearer(authorization: string | undefined): void;
  /**
   * Declares a kind of bearer credential that is never the operator's (an app's customer tokens). With API
   * keys configured it fails as any wrong key does (UNAUTHORIZED); in local mode, where a request without any
   * key passes, `verifyBearer` refuses it with FORBIDDEN, so a customer's token cannot act as the operator
   * there either (issue tokens for another customer, delete streams).
   */
  refuseAsOperator(credential: ForeignCredential): void;
}

export interface ForeignCredential {
  /** What it is, for the error: `customer token`. */
  readonly kind: string;
  /** What such a credential is for, for the error: `it only serves /v1/me`. */
  readonly servesOnly: string;
  /** True when `token` is one of them; called for bearer tokens that are not an API key, so it should be cheap. */
  readonly recognizes: (token: string) => boolean;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export interface AuthenticatorOptions {
  readonly accessKeys: readonly AccessKey[];
  /** Hashed API keys, `sha256:<hex>` (see `hashApiKey`). */
  readonly apiKeys: readonly string[];
  /** The clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const secrets = new Map(options.accessKeys.map((k) => [k.accessKeyId, k.secretAccessKey]));
  const apiKeyHashes = options.apiKeys.map((h) => h.toLowerCase());
  const now = options.now ?? Date.now;
  const mode = secrets.size === 0 ? 'local' : 'verify';
  const foreign: ForeignCredential[] = [];

  const authenticator = {
    mode,
    verifySigV4(req: SigV4Headers & { readonly body?: Buffer }): void {
      const authorization = headerValue(req.headers, 'authorization');
      const presigned = parsePresignedQuery(req.path);
      if (presigned && authorization !== undefined) {
        throw signatureInvalid('the request is signed twice, in the Authorization header and in the query string (X-Amz-Signature); send one signature');
      }
      const auth = presigned ?? parseAuthorization(authorization);
      if (mode === 'local') return;

      const secret = secrets.get(auth.accessKeyId);
      if (secret === undefined) {
        throw new TollstreamError('AUTH_UNKNOWN_KEY', `the access key id '${auth.accessKeyId}' is not configured in auth.accessKeys`, {
          context: { accessKeyId: auth.accessKeyId },
        });
      }
      if (!auth.signedHeaders.includes('host') && !auth.signedHeaders.includes(':authority')) {
        throw signatureInvalid("the 'host' header (or ':authority' over HTTP/2) must be signed (SignedHeaders)");
      }
      // A presigned request carries its date in the query, which the signature covers whole.
      if (!presigned && !auth.signedHeaders.includes('x-amz-date')) throw signatureInvalid("the 'x-amz-date' header must be signed (SignedHeaders)");
      for (const name of OPERATION_HEADERS) {
        if (headerValue(req.headers, name) !== undefined && !auth.signedHeaders.includes(name)) {
          throw signatureInvalid(`'${name}' must be a 'SignedHeader' in the AWS Authorization: it selects the operation, so it is signed`, { header: name });
        }
      }
      const amzDate = presigned ? presigned.amzDate : (headerValue(req.headers, 'x-amz-date')?.trim() ?? '');
      const signedAt = parseAmzDate(amzDate);
      if (signedAt === undefined) throw signatureInvalid(`${presigned ? 'X-Amz-Date' : 'x-amz-date'} must be a date like 20260126T093000Z, got '${amzDate}'`);
      if (amzDate.slice(0, 8) !== auth.date) {
        throw signatureInvalid(`the credential scope date ${auth.date} does not match x-amz-date ${amzDate}`);
      }
      if (!SIGNING_SERVICES.includes(auth.service)) {
        throw signatureInvalid(`the credential scope names service '${auth.service}'; sign for 'kinesis' or 'firehose'`);
      }
      if (presigned) checkPresignedTime(presigned, signedAt, now());
      else checkClockSkew(amzDate, signedAt, now());
      for (const name of auth.signedHeaders) {
        if (headerValue(req.headers, name) === undefined) throw signatureInvalid(`the signed header '${name}' is missing from the request`);
      }
      // Before the body is read only a declared payload hash can stand in for the body's.
      const hash = presigned
        ? presignedPayloadHash(presigned, req.headers, req.body)
        : req.body === undefined
          ? declaredPayloadHash(req.headers)
          : payloadHash({ ...req, body: req.body });
      if (hash === undefined) return;
      const canonical = canonicalRequest(presigned ? { ...req, path: presigned.signedPath } : req, auth.signedHeaders, hash);
      const expected = computeSignature(secret, amzDate, auth, canonical);
      if (!timingSafeEqualStrings(expected, auth.signature)) {
        throw signatureInvalid('the request signature does not match; check the secret access key and that nothing altered the request');
      }
    },
    verifySigV4Headers(req: SigV4Headers): void {
      authenticator.verifySigV4(req);
    },
    verifyBearer(authorization) {
      const m = BEARER.exec(authorization ?? '');
      if (apiKeyHashes.length === 0) {
        if (m) refuseForeign(m[1]!);
        return;
      }
      if (!m) {
        throw new TollstreamError('UNAUTHORIZED', 'this server needs an API key: send the header "Authorization: Bearer <api key>"');
      }
      const presented = hashApiKey(m[1]!);
      // Compare against every key without stopping early, so timing does not tell which one was close.
      let match = false;
      for (const stored of apiKeyHashes) match = timingSafeEqualStrings(presented, stored) || match;
      if (!match) throw new TollstreamError('UNAUTHORIZED', 'the API key is not valid for this server');
    },
    refuseAsOperator(credential) {
      foreign.push(credential);
    },
  } satisfies Authenticator;
  return authenticator;

  function refuseForeign(token: string): void {
    const owner = foreign.find((f) => f.recognizes(token));
    if (owner) {
      throw new TollstreamError('FORBIDDEN', `the bearer token is a ${owner.kind}, not the operator's credential; ${owner.servesOnly}`, { context: { credential: owner.kind } });
    }
  }
}

function checkClockSkew(amzDate: string, signedAt: number, now: number): void {
  if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
    throw new TollstreamError(
      'AUTH_SIGNATURE_EXPIRED',
      `the request was signed at ${amzDate}, more than 15 minutes from the server's clock; check the client's clock`,
      { context: { amzDate, serverTime: new Date(now).toISOString() } },
    );
  }
}

/** A presigned request is valid from its signing time (give or take the clock skew) until it expires. */
function checkPresignedTime(presigned: PresignedQuery, signedAt: number, now: number): void {
  if (presigned.expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) {
    throw signatureInvalid(`X-Amz-Expires must be at most ${MAX_PRESIGNED_EXPIRES_SECONDS} seconds (7 days), got ${presigned.expiresSeconds}`);
  }
  const context = { amzDate: presigned.amzDate, expiresSeconds: presigned.expiresSeconds, serverTime: new Date(now).toISOString() };
  const expiresAt = signedAt + presigned.expiresSeconds * 1000;
  if (now > expiresAt) {
    throw new TollstreamError('AUTH_SIGNATURE_EXPIRED', `the presigned request expired at ${new Date(expiresAt).toISOString()}; presign it again`, { context });
  }
  if (signedAt - now > MAX_CLOCK_SKEW_MS) {
    throw new TollstreamError('AUTH_SIGNATURE_EXPIRED', `the presigned request is dated ${presigned.amzDate}, more than 15 minutes ahead of the server's clock; check the client's clock`, { context });
  }
}

/** AUTH_SIGNATURE_INVALID: a SigV4 signature, or what it must cover, that cannot be accepted. */
function signatureInvalid(message: string, context?: Record<string, unknown>): TollstreamError {
  return new TollstreamError('AUTH_SIGNATURE_INVALID', message, context ? { context } : {});
}

/** The stored form of an API key for `auth.apiKeys`: `sha256:<hex of SHA-256 of the key's UTF-8 bytes>`. */
export function hashApiKey(key: string): string {
  return `sha256:${crypto.createHash('sha256').update(key, 'utf8').digest('hex')}`;
}
