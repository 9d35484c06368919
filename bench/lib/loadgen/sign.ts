/**
 * SigV4 for the load generator's Kinesis requests, computed per request as a client computes it: the SHA-256 of
 * the body, the canonical request, the string to sign and its HMAC. The steps are the server's own
 * (src/gateway/auth/sigv4.ts), so a signature here verifies there.
 */
import { canonicalRequest, computeSignature, sha256Hex, ALGORITHM } from '../../../src/gateway/auth/sigv4.ts';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

/** Headers a Kinesis JSON request carries and signs, lowercase and sorted as SigV4 wants them. */
export const SIGNED_HEADERS = ['content-type', 'host', 'x-amz-date', 'x-amz-target'] as const;

/** `20261206T234500Z` */
export function amzDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * The headers of a signed POST of `body` to `/` of `host`: `x-amz-date` and `authorization` added to `headers`
 * (which must hold `content-type` and `x-amz-target`).
 */
export function signKinesisRequest(
  credentials: Credentials,
  host: string,
  headers: { readonly 'content-type': string; readonly 'x-amz-target': string },
  body: Buffer,
  now: number,
): { 'x-amz-date': string; authorization: string } {
  const amzDate = amzDateOf(now);
  const date = amzDate.slice(0, 8);
  const all = { ...headers, host, 'x-amz-date': amzDate };
  const canonical = canonicalRequest({ method: 'POST', path: '/', headers: all }, SIGNED_HEADERS, sha256Hex(body));
  const scope = { accessKeyId: credentials.accessKeyId, date, region: credentials.region, service: 'kinesis', signedHeaders: SIGNED_HEADERS, signature: '' };
  const signature = computeSignature(credentials.secretAccessKey, amzDate, scope, canonical);
  return {
    'x-amz-date': amzDate,
    authorization: `${ALGORITHM} Credential=${credentials.accessKeyId}/${date}/${credentials.region}/kinesis/aws4_request, SignedHeaders=${SIGNED_HEADERS.join(';')}, Signature=${signature}`,
  };
}
