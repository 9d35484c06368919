/**
 * AWS Signature Version 4, as the Kinesis and Firehose SDKs send it: parsing the `Authorization` header or the
 * query string of a presigned request, and recomputing the signature of a received request.
 * See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
import crypto from 'node:crypto';
import { TollstreamError } from '../../core/errors.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
const SCOPE_TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** What a well-formed `Authorization: AWS4-HMAC-SHA256 ...` header says. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  /** `YYYYMMDD` */
  readonly date: string;
  readonly region: string;
  readonly service: string;
  /** Lowercase names, in the order given (SigV4 requires them sorted; the signature covers that order). */
  readonly signedHeaders: readonly string[];
  /** 64 lowercase hex digits. */
  readonly signature: string;
}

const CREDENTIAL = /^([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request$/;
const SIGNED_HEADERS = /^[a-z0-9!#$%&'*+.^_`|~:-]+(;[a-z0-9!#$%&'*+.^_`|~:-]+)*$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

/**
 * Parses the header; anything that is not a complete SigV4 header is `AUTH_MISSING`
 * (AWS answers such requests with MissingAuthenticationToken / IncompleteSignature).
 */
export function parseAuthorization(value: string | undefined): ParsedAuthorization {
  if (value === undefined || value.trim() === '') {
    throw new TollstreamError('AUTH_MISSING', 'the request has no Authorization header; sign it with AWS Signature Version 4');
  }
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw malformed(`the Authorization header must start with '${ALGORITHM}'`);
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw malformed(`the Authorization header has a part without '=': '${part.trim()}'`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw malformed('the Authorization header needs Credential, SignedHeaders and Signature');
  }
  const scope = CREDENTIAL.exec(credential);
  if (!scope) {
    throw malformed(`Credential must be <access key id>/<YYYYMMDD>/<region>/<service>/${SCOPE_TERMINATOR}`);
  }
  if (!SIGNED_HEADERS.test(signedHeaders)) {
    throw malformed('SignedHeaders must be lowercase header names separated by semicolons');
  }
  if (!SIGNATURE.test(signature)) throw malformed('Signature must be 64 lowercase hex digits');
  return {
    accessKeyId: scope[1]!,
    date: scope[2]!,
    region: scope[3]!,
    service: scope[4]!,
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

function malformed(message: string): TollstreamError {
  return new TollstreamError('AUTH_MISSING', `malformed SigV4 Authorization header: ${message}`);
}

/** The longest a presigned request may stay valid, as AWS allows: 7 days, in seconds. */
export const MAX_PRESIGNED_EXPIRES_SECONDS = 7 * 24 * 3600;
const PRESIGN_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'] as const;

/** What the query string of a presigned request (`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...`) says. */
export interface PresignedQuery extends ParsedAuthorization {
  /** `X-Amz-Date`, the signing time: `20260126T093000Z`. */
  readonly amzDate: string;
  /** `X-Amz-Expires`: seconds after `amzDate` during which the request is valid, 1 to 7 days. */
  readonly expiresSeconds: number;
  /** `X-Amz-Content-Sha256` when the query carries it (the SDK moves `x-amz-*` headers into the query). */
  readonly payloadHash?: string;
  /** The request target without `X-Amz-Signature`: the query the signature covers. */
  readonly signedPath: string;
}

/**
 * Parses a presigned request's query; undefined when the query carries none of the SigV4 parameters. One
 * present without the rest, or any malformed, is `AUTH_MISSING` as for a malformed Authorization header.
 */
export function parsePresignedQuery(path: string): PresignedQuery | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const params = new Map<string, string>();
  const kept: string[] = [];
  for (const part of path.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    const name = safeDecode(eq < 0 ? part : part.slice(0, eq));
    params.set(name, safeDecode(eq < 0 ? '' : part.slice(eq + 1)));
    if (name !== 'X-Amz-Signature') kept.push(part);
  }
  if (!PRESIGN_PARAMS.some((name) => params.has(name))) return undefined;
  const missing = PRESIGN_PARAMS.filter((name) => !params.has(name));
  if (missing.length > 0) throw malformedQuery(`it lacks ${missing.join(', ')}`);
  if (params.get('X-Amz-Algorithm') !== ALGORITHM) throw malformedQuery(`X-Amz-Algorithm must be '${ALGORITHM}'`);
  const scope = CREDENTIAL.exec(params.get('X-Amz-Credential')!);
  if (!scope) throw malformedQuery(`X-Amz-Credential must be <access key id>/<YYYYMMDD>/<region>/<service>/${SCOPE_TERMINATOR}`);
  const signedHeaders = params.get('X-Amz-SignedHeaders')!;
  if (!SIGNED_HEADERS.test(signedHeaders)) throw malformedQuery('X-Amz-SignedHeaders must be lowercase header names separated by semicolons');
  const signature = params.get('X-Amz-Signature')!;
  if (!SIGNATURE.test(signature)) throw malformedQuery('X-Amz-Signature must be 64 lowercase hex digits');
  const expires = params.get('X-Amz-Expires')!;
  if (!/^\d{1,7}$/.test(expires) || Number(expires) < 1) throw malformedQuery(`X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGNED_EXPIRES_SECONDS}`);
  // The SDK's presigner moves x-amz-* headers into the query under the names they had, lowercase as a rule.
  const payloadHash = [...params].find(([name]) => name.toLowerCase() === 'x-amz-content-sha256')?.[1];
  return {
    accessKeyId: scope[1]!,
    date: scope[2]!,
    region: scope[3]!,
    service: scope[4]!,
    signedHeaders: signedHeaders.split(';'),
    signature,
    amzDate: params.get('X-Amz-Date')!,
    expiresSeconds: Number(expires),
    ...(payloadHash !== undefined ? { payloadHash } : {}),
    signedPath: kept.length > 0 ? `${path.slice(0, q)}?${kept.join('&')}` : path.slice(0, q),
  };
}

function malformedQuery(message: string): TollstreamError {
  return new TollstreamError('AUTH_MISSING', `malformed SigV4 query string (presigned request): ${message}`);
}

export interface SignedRequest {
  readonly method: string;
  /** The raw request target as received: path (still percent-encoded) and query string. */
  readonly path: string;
  readonly headers: HeaderMap;
  readonly body: Buffer;
}

/**
 * The header's value as SigV4 sees it. `host` and HTTP/2's `:authority` stand in for each other: a client
 * may sign `host` and travel over HTTP/2, and the AWS SDK over HTTP/2 signs `:authority` itself.
 */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  let v = headers[name];
  if (v === undefined && name === 'host') v = headers[':authority'];
  if (v === undefined && name === ':authority') v = headers.host;
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/** Step 1: the canonical request. `payloadHash` is what the signer used for the body. */
export function canonicalRequest(req: Omit<SignedRequest, 'body'>, signedHeaders: readonly string[], payloadHash: string): string {
  const q = req.path.indexOf('?');
  const rawPath = q < 0 ? req.path : req.path.slice(0, q);
  const rawQuery = q < 0 ? '' : req.path.slice(q + 1);
  const headerLines = signedHeaders.map((name) => `${name}:${canonicalHeaderValue(headerValue(req.headers, name) ?? '')}`);
  return [
    req.method.toUpperCase(),
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    headerLines.join('\n') + '\n',
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/**
 * The path as sent is already percent-encoded once; every AWS service but S3 signs it normalized
 * (empty, `.` and `..` segments removed) and encoded a second time.
 */
function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${rawPath.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalized || '/').replace(/%2F/g, '/');
}

/** Query parameters decoded, re-encoded the SigV4 way, sorted by name then value. */
function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([uriEncode(safeDecode(name)), uriEncode(safeDecode(value))]);
  }
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** RFC 3986 encoding: everything but unreserved characters (A-Z a-z 0-9 - _ . ~). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalHeaderValue(v: string): string {
  return v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').trim();
}

export function sha256Hex(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Steps 2 to 4: string to sign, signing key, signature (hex). */
export function computeSignature(secretAccessKey: string, amzDate: string, scope: ParsedAuthorization, canonical: string): string {
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/${SCOPE_TERMINATOR}`;
  const stringToSign = [ALGORITHM, amzDate, credentialScope, sha256Hex(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${secretAccessKey}`, scope.date);
  for (const part of [scope.region, scope.service, SCOPE_TERMINATOR]) key = hmac(key, part);
  return crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/**
 * The payload hash to put in the canonical request. A present `x-amz-content-sha256` (or `declared`, what a
 * presigned query says) must match the body (a mismatch means the body was altered after signing).
 * `UNSIGNED-PAYLOAD` is not honoured here: the body is always covered, so a client that opted out of payload
 * signing fails verification (only a presigned request may opt out, see `presignedPayloadHash`).
 */
export function payloadHash(req: SignedRequest, declared = headerValue(req.headers, 'x-amz-content-sha256')?.trim()): string {
  const bodyHash = sha256Hex(req.body);
  if (declared === undefined || declared === UNSIGNED_PAYLOAD) return bodyHash;
  if (!timingSafeEqualStrings(declared.toLowerCase(), bodyHash)) {
    throw new TollstreamError('AUTH_SIGNATURE_INVALID', 'the request body does not match its x-amz-content-sha256 header', {
      context: { header: 'x-amz-content-sha256' },
    });
  }
  return declared;
}

/**
 * The payload hash a request declares in `x-amz-content-sha256` (64 hex digits), which lets its signature be
 * checked before the body is read; undefined when absent, `UNSIGNED-PAYLOAD` or not a hash.
 */
export function declaredPayloadHash(headers: HeaderMap, declared = headerValue(headers, 'x-amz-content-sha256')?.trim()): string | undefined {
  return declared !== undefined && /^[0-9a-fA-F]{64}$/.test(declared) ? declared : undefined;
}

/**
 * The payload hash of a presigned request: `UNSIGNED-PAYLOAD` when it says so (a presigned URL is often made
 * before its body exists; the body is then not covered), else as `payloadHash`, from the query's
 * `X-Amz-Content-Sha256` or the header. Without the body, undefined unless the hash is known from the request.
 */
export function presignedPayloadHash(presigned: PresignedQuery, headers: HeaderMap, body: Buffer | undefined): string | undefined {
  const declared = presigned.payloadHash ?? headerValue(headers, 'x-amz-content-sha256')?.trim();
  if (declared === UNSIGNED_PAYLOAD) return UNSIGNED_PAYLOAD;
  return body === undefined ? declaredPayloadHash(headers, declared) : payloadHash({ method: '', path: '', headers, body }, declared);
}

/** Equal-length comparison in constant time; strings of different lengths are simply unequal. */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `20260126T112632Z` -> ms since the epoch, or undefined when not in that form. */
export function parseAmzDate(v: string): number | undefined {
  const m = AMZ_DATE.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(t) ? undefined : t;
}
