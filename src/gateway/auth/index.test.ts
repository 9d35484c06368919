import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { isTollstreamError, type ErrorCode } from '../../core/errors.ts';
import { Sha256 } from '../../../test/support/sdk-sha256.ts';
import { createAuthenticator, hashApiKey, type Authenticator, type SigV4Request } from './index.ts';

const KEY = { accessKeyId: 'AKIDTOLLS', secretAccessKey: 'tollstream-secret-key' };
const SIGNED_AT = Date.UTC(2026, 0, 26, 9, 30, 0);
const BODY = JSON.stringify({ StreamName: 'toll_transactions', Data: 'eyJ0cmFuc2FjdGlvbl9pZCI6MX0=', PartitionKey: 'plaza-7' });

interface SignOptions {
  service?: string;
  secret?: string;
  accessKeyId?: string;
  path?: string;
  query?: Record<string, string>;
  body?: string;
  signingDate?: number;
  region?: string;
  /** Sign `:authority` instead of `host`, as the SDK's HTTP/2 handler does. */
  http2?: boolean;
  /** Leave out `x-amz-content-sha256`: only the signature carries the body's hash. */
  undeclaredPayload?: boolean;
  /** Headers sent but left out of SignedHeaders (the signer's own `unsignableHeaders`). */
  unsigned?: readonly string[];
}

/** Signs a Kinesis-style request with the real SDK signer and returns it the way a Node server would see it. */
async function signed(options: SignOptions = {}): Promise<SigV4Request> {
  const signer = new SignatureV4({
    service: options.service ?? 'kinesis',
    region: options.region ?? 'us-east-1',
    credentials: { accessKeyId: options.accessKeyId ?? KEY.accessKeyId, secretAccessKey: options.secret ?? KEY.secretAccessKey },
    sha256: Sha256,
    applyChecksum: !options.undeclaredPayload,
  });
  const body = options.body ?? BODY;
  const path = options.path ?? '/';
  const request = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path,
      query: options.query ?? {},
      headers: {
        ...(options.http2 ? { ':authority': '127.0.0.1:4566' } : { host: '127.0.0.1:4566' }),
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Kinesis_20131202.PutRecord',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    },
    { signingDate: new Date(options.signingDate ?? SIGNED_AT), unsignableHeaders: new Set(options.unsigned ?? []) },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
  const query = new URLSearchParams(options.query ?? {}).toString().replace(/\+/g, '%20');
  return { method: request.method, path: query ? `${path}?${query}` : path, headers, body: Buffer.from(body) };
}

function verifier(now = SIGNED_AT + 60_000): Authenticator {
  return createAuthenticator({ accessKeys: [KEY], apiKeys: [], now: () => now });
}

function codeOf(fn: () => void): ErrorCode | 'passed' {
  try {
    fn();
    return 'passed';
  } catch (err) {
    if (isTollstreamError(err)) return err.code;
    throw err;
  }
}

describe('SigV4 in verify mode', () => {
  it('accepts a request signed by the AWS SDK signer', async () => {
    const auth = verifier();
    const req = await signed();
    expect(auth.mode).toBe('verify');
    expect(codeOf(() => auth.verifySigV4(req))).toBe('passed');
  });

  it.each([
    ['a firehose request', { service: 'firehose' }],
    ['another region', { region: 'eu-west-1' }],
    ['a path with encoded characters', { path: '/v1/streams/toll%20transactions/records' }],
    ['a query string', { path: '/x', query: { b: '2', a: 'x y', c: "it's*" } }],
    ['an empty body', { body: '' }],
  ])('accepts %s', async (_name, options) => {
    const req = await signed(options);
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('passed');
  });

  it('accepts a clock skew just under 15 minutes either way', async () => {
    const req = await signed();
    expect(codeOf(() => verifier(SIGNED_AT + 14 * 60_000).verifySigV4(req))).toBe('passed');
    expect(codeOf(() => verifier(SIGNED_AT - 14 * 60_000).verifySigV4(req))).toBe('passed');
  });

  it('rejects a tampered body', async () => {
    const req = await signed();
    const tampered = { ...req, body: Buffer.from(BODY.replace('plaza-7', 'plaza-8')) };
    expect(codeOf(() => verifier().verifySigV4(tampered))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('rejects a tampered body even when the payload hash header is dropped', async () => {
    const req = await signed();
    const headers = { ...req.headers };
    delete headers['x-amz-content-sha256'];
    const tampered = { ...req, headers, body: Buffer.from(BODY.replace('plaza-7', 'plaza-8')) };
    expect(codeOf(() => verifier().verifySigV4(tampered))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('rejects a tampered signed header', async () => {
    const req = await signed();
    const tampered = { ...req, headers: { ...req.headers, 'x-amz-target': 'Kinesis_20131202.DeleteStream' } };
    expect(codeOf(() => verifier().verifySigV4(tampered))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('rejects a tampered path and a tampered query', async () => {
    const req = await signed({ path: '/a', query: { x: '1' } });
    expect(codeOf(() => verifier().verifySigV4({ ...req, path: '/b?x=1' }))).toBe('AUTH_SIGNATURE_INVALID');
    expect(codeOf(() => verifier().verifySigV4({ ...req, path: '/a?x=2' }))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('rejects a signature made with the wrong secret', async () => {
    const req = await signed({ secret: 'not-the-secret' });
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('rejects an access key id it does not know', async () => {
    const req = await signed({ accessKeyId: 'AKIDSOMEONEELSE' });
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('AUTH_UNKNOWN_KEY');
  });

  it('rejects a request signed more than 15 minutes before or after the server clock', async () => {
    const req = await signed();
    expect(codeOf(() => verifier(SIGNED_AT + 16 * 60_000).verifySigV4(req))).toBe('AUTH_SIGNATURE_EXPIRED');
    expect(codeOf(() => verifier(SIGNED_AT - 16 * 60_000).verifySigV4(req))).toBe('AUTH_SIGNATURE_EXPIRED');
  });

  it('rejects a credential scope for another service', async () => {
    const req = await signed({ service: 's3' });
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('rejects a credential scope whose date is not the x-amz-date', async () => {
    const req = await signed();
    const authorization = String(req.headers.authorization).replace('/20260126/', '/20260125/');
    expect(codeOf(() => verifier().verifySigV4({ ...req, headers: { ...req.headers, authorization } }))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('rejects a signature that covers neither host nor :authority', async () => {
    const req = await signed();
    const authorization = String(req.headers.authorization).replace('SignedHeaders=content-length;content-type;host;', 'SignedHeaders=content-length;content-type;');
    expect(authorization).not.toBe(req.headers.authorization);
    expect(codeOf(() => verifier().verifySigV4({ ...req, headers: { ...req.headers, authorization } }))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it.each([
    ['x-amz-target', 'Kinesis_20131202.DeleteStream'],
    ['content-type', 'application/x-amz-cbor-1.1'],
  ])('rejects a request that leaves %s, which selects the operation, out of its signature', async (header, replayed) => {
    const req = await signed({ unsigned: [header] });
    expect(String(req.headers.authorization)).not.toContain(header);
    const auth = verifier();
    // As captured, and replayed with the unsigned header changed: neither may pass.
    for (const value of [req.headers[header], replayed]) {
      const replay = { ...req, headers: { ...req.headers, [header]: value } };
      let error: unknown;
      try {
        auth.verifySigV4(replay);
      } catch (err) {
        error = err;
      }
      expect(isTollstreamError(error, 'AUTH_SIGNATURE_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`'${header}' must be a 'SignedHeader'`, 'i'));
    }
  });

  it('rejects a request without or with a malformed Authorization header', async () => {
    const req = await signed();
    const headers = { ...req.headers };
    delete headers.authorization;
    expect(codeOf(() => verifier().verifySigV4({ ...req, headers }))).toBe('AUTH_MISSING');
    for (const authorization of ['Bearer abc', 'AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00', '']) {
      expect(codeOf(() => verifier().verifySigV4({ ...req, headers: { ...req.headers, authorization } }))).toBe('AUTH_MISSING');
    }
  });

  it('verifies an HTTP/2 request whose host comes as the :authority pseudo header', async () => {
    const req = await signed();
    const { host, ...rest } = req.headers;
    const h2 = { ...req, headers: { ':method': 'POST', ':path': '/', ':scheme': 'http', ':authority': host, ...rest } };
    expect(codeOf(() => verifier().verifySigV4(h2))).toBe('passed');
    const wrongHost = { ...h2, headers: { ...h2.headers, ':authority': 'evil.example:4566' } };
    expect(codeOf(() => verifier().verifySigV4(wrongHost))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('verifies a request signed over HTTP/2 the way the AWS SDK does it, with :authority signed', async () => {
    const req = await signed({ http2: true });
    expect(String(req.headers.authorization)).toContain('SignedHeaders=:authority;');
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('passed');
    const wrongHost = { ...req, headers: { ...req.headers, ':authority': 'evil.example:4566' } };
    expect(codeOf(() => verifier().verifySigV4(wrongHost))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('accepts header values with extra spaces the way SigV4 canonicalizes them', async () => {
    const req = await signed();
    const spaced = { ...req, headers: { ...req.headers, 'content-type': '  application/x-amz-json-1.1  ' } };
    expect(codeOf(() => verifier().verifySigV4(spaced))).toBe('passed');
  });
});

describe('SigV4 in local mode', () => {
  const local = createAuthenticator({ accessKeys: [], apiKeys: [] });

  it('accepts any well-formed signature without checking it', async () => {
    expect(local.mode).toBe('local');
    const req = await signed({ secret: 'anything', accessKeyId: 'test' });
    expect(codeOf(() => local.verifySigV4({ ...req, body: Buffer.from('changed') }))).toBe('passed');
  });

  it('still rejects a request without a SigV4 Authorization header', async () => {
    const req = await signed();
    expect(codeOf(() => local.verifySigV4({ ...req, headers: { ...req.headers, authorization: undefined } }))).toBe('AUTH_MISSING');
    expect(codeOf(() => local.verifySigV4({ ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 nonsense' } }))).toBe('AUTH_MISSING');
  });
});

describe('API keys', () => {
  it('hashes a key to the sha256: form the config accepts', () => {
    expect(hashApiKey('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('accepts the right bearer key and rejects a wrong or missing one', () => {
    const auth = createAuthenticator({ accessKeys: [], apiKeys: [hashApiKey('other'), hashApiKey('s3cret')] });
    expect(codeOf(() => auth.verifyBearer('Bearer s3cret'))).toBe('passed');
    expect(codeOf(() => auth.verifyBearer('bearer s3cret'))).toBe('passed');
    expect(codeOf(() => auth.verifyBearer('Bearer wrong'))).toBe('UNAUTHORIZED');
    expect(codeOf(() => auth.verifyBearer('s3cret'))).toBe('UNAUTHORIZED');
    expect(codeOf(() => auth.verifyBearer(undefined))).toBe('UNAUTHORIZED');
  });

  it("refuses a credential declared as not the operator's: FORBIDDEN in local mode, a wrong key with keys configured", () => {
    const customerToken = 'customer-token-of-c1';
    const declare = (auth: Authenticator) => auth.refuseAsOperator({ kind: 'customer token', servesOnly: 'it serves /v1/me only', recognizes: (t) => t === customerToken });
    const local = createAuthenticator({ accessKeys: [], apiKeys: [] });
    declare(local);
    expect(codeOf(() => local.verifyBearer(`Bearer ${customerToken}`))).toBe('FORBIDDEN');
    expect(codeOf(() => local.verifyBearer(undefined))).toBe('passed');
    expect(codeOf(() => local.verifyBearer('Bearer anything-else'))).toBe('passed');
    const keyed = createAuthenticator({ accessKeys: [], apiKeys: [hashApiKey('s3cret')] });
    declare(keyed);
    expect(codeOf(() => keyed.verifyBearer(`Bearer ${customerToken}`))).toBe('UNAUTHORIZED');
    expect(codeOf(() => keyed.verifyBearer('Bearer s3cret'))).toBe('passed');
  });

  it('needs no key when none is configured', () => {
    const auth = createAuthenticator({ accessKeys: [], apiKeys: [] });
    expect(codeOf(() => auth.verifyBearer(undefined))).toBe('passed');
  });
});

describe('SigV4 before the body is read', () => {
  const withoutBody = ({ body: _body, ...rest }: SigV4Request) => rest;

  it('checks the signature itself from the headers when the payload hash is declared', async () => {
    const req = await signed();
    expect(req.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(codeOf(() => verifier().verifySigV4Headers(withoutBody(req)))).toBe('passed');
    const wrongSecret = await signed({ secret: 'not-the-secret' });
    expect(codeOf(() => verifier().verifySigV4Headers(withoutBody(wrongSecret)))).toBe('AUTH_SIGNATURE_INVALID');
    const retargeted = { ...req, headers: { ...req.headers, 'x-amz-target': 'Kinesis_20131202.DeleteStream' } };
    expect(codeOf(() => verifier().verifySigV4Headers(withoutBody(retargeted)))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('refuses unknown keys, stale dates and malformed headers without a declared payload hash', async () => {
    const strip = (req: SigV4Request) => {
      const headers = { ...req.headers };
      delete headers['x-amz-content-sha256'];
      return withoutBody({ ...req, headers });
    };
    const stranger = await signed({ accessKeyId: 'AKIDSOMEONEELSE' });
    expect(codeOf(() => verifier().verifySigV4Headers(strip(stranger)))).toBe('AUTH_UNKNOWN_KEY');
    const req = await signed();
    expect(codeOf(() => verifier(SIGNED_AT + 16 * 60_000).verifySigV4Headers(strip(req)))).toBe('AUTH_SIGNATURE_EXPIRED');
    expect(codeOf(() => verifier().verifySigV4Headers(strip({ ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 nonsense' } })))).toBe('AUTH_MISSING');
    // The signature covers the body's hash, which is not known yet: a wrong secret passes here and fails once the body is read.
    const good = await signed({ undeclaredPayload: true });
    const wrongSecret = await signed({ secret: 'not-the-secret', undeclaredPayload: true });
    expect(wrongSecret.headers['x-amz-content-sha256']).toBeUndefined();
    expect(codeOf(() => verifier().verifySigV4Headers(withoutBody(wrongSecret)))).toBe('passed');
    expect(codeOf(() => verifier().verifySigV4(wrongSecret))).toBe('AUTH_SIGNATURE_INVALID');
    expect(codeOf(() => verifier().verifySigV4Headers(withoutBody(good)))).toBe('passed');
    expect(codeOf(() => verifier().verifySigV4(good))).toBe('passed');
  });

  it('checks only the form of the header in local mode', async () => {
    const local = createAuthenticator({ accessKeys: [], apiKeys: [] });
    const req = await signed({ secret: 'anything', accessKeyId: 'test' });
    expect(codeOf(() => local.verifySigV4Headers(withoutBody(req)))).toBe('passed');
    expect(codeOf(() => local.verifySigV4Headers(withoutBody({ ...req, headers: { ...req.headers, authorization: undefined } })))).toBe('AUTH_MISSING');
  });
});

interface PresignOptions {
  body?: string;
  expiresIn?: number;
  signingDate?: number;
  /** Send `x-amz-content-sha256: UNSIGNED-PAYLOAD`: the signature leaves the body out. */
  unsignedPayload?: boolean;
  /** Keep `x-amz-target` a header instead of letting the presigner move it into the query. */
  targetAsHeader?: boolean;
  /** Headers sent but left out of X-Amz-SignedHeaders. */
  unsigned?: readonly string[];
}

/** Presigns a Kinesis PutRecord with the real SDK signer and returns it the way a Node server would see it. */
async function presigned(options: PresignOptions = {}): Promise<SigV4Request> {
  const signer = new SignatureV4({ service: 'kinesis', region: 'us-east-1', credentials: KEY, sha256: Sha256 });
  const body = options.body ?? BODY;
  const request = await signer.presign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: '/',
      query: {},
      headers: {
        host: '127.0.0.1:4566',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Kinesis_20131202.PutRecord',
        ...(options.unsignedPayload ? { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } : {}),
      },
      body,
    },
    {
      signingDate: new Date(options.signingDate ?? SIGNED_AT),
      expiresIn: options.expiresIn ?? 300,
      ...(options.targetAsHeader ? { unhoistableHeaders: new Set(['x-amz-target']) } : {}),
      unsignableHeaders: new Set(options.unsigned ?? []),
    },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
  const query = Object.entries(request.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return { method: request.method, path: `/?${query}`, headers, body: Buffer.from(body) };
}

/** The request with one query parameter set to `value`, the others as they were. */
function withQuery(req: SigV4Request, name: string, value: string): SigV4Request {
  const [path, query] = req.path.split('?') as [string, string];
  const params = new URLSearchParams(query);
  params.set(name, value);
  return { ...req, path: `${path}?${params.toString()}` };
}

describe('presigned SigV4 (signature in the query string) in verify mode', () => {
  it('accepts a request presigned by the AWS SDK signer, the operation moved into the signed query', async () => {
    const req = await presigned();
    expect(req.path).toContain('X-Amz-Signature=');
    expect(req.path).toContain('x-amz-target=Kinesis_20131202.PutRecord');
    expect(req.headers.authorization).toBeUndefined();
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('passed');
    expect(codeOf(() => verifier().verifySigV4Headers(req))).toBe('passed');
  });

  it('accepts one that keeps x-amz-target as a signed header', async () => {
    const req = await presigned({ targetAsHeader: true });
    expect(req.headers['x-amz-target']).toBe('Kinesis_20131202.PutRecord');
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('passed');
  });

  it('accepts UNSIGNED-PAYLOAD, checking the signature before the body is read and leaving the body out', async () => {
    const req = await presigned({ unsignedPayload: true });
    expect(req.path).toContain('x-amz-content-sha256=UNSIGNED-PAYLOAD');
    expect(codeOf(() => verifier().verifySigV4({ ...req, body: Buffer.from('{"another":"body"}') }))).toBe('passed');
    expect(codeOf(() => verifier().verifySigV4Headers(withQuery(req, 'x-amz-target', 'Kinesis_20131202.DeleteStream')))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('is valid until X-Amz-Expires has passed, up to 7 days, and expired after', async () => {
    const req = await presigned({ expiresIn: 60 });
    expect(codeOf(() => verifier(SIGNED_AT + 59_000).verifySigV4(req))).toBe('passed');
    expect(codeOf(() => verifier(SIGNED_AT + 61_000).verifySigV4(req))).toBe('AUTH_SIGNATURE_EXPIRED');
    const week = await presigned({ expiresIn: 7 * 24 * 3600 });
    expect(codeOf(() => verifier(SIGNED_AT + 6 * 24 * 3600_000).verifySigV4(week))).toBe('passed');
    expect(codeOf(() => verifier(SIGNED_AT + 7 * 24 * 3600_000 + 1000).verifySigV4(week))).toBe('AUTH_SIGNATURE_EXPIRED');
  });

  it('refuses one dated more than 15 minutes ahead of the server clock', async () => {
    const req = await presigned({ expiresIn: 3600 });
    expect(codeOf(() => verifier(SIGNED_AT - 16 * 60_000).verifySigV4(req))).toBe('AUTH_SIGNATURE_EXPIRED');
  });

  it('refuses X-Amz-Expires beyond 7 days', async () => {
    const req = withQuery(await presigned(), 'X-Amz-Expires', String(7 * 24 * 3600 + 1));
    expect(codeOf(() => verifier().verifySigV4(req))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it.each([
    ['the body', (r: SigV4Request) => ({ ...r, body: Buffer.from(BODY.replace('plaza-7', 'plaza-8')) })],
    ['the operation in the query', (r: SigV4Request) => withQuery(r, 'x-amz-target', 'Kinesis_20131202.DeleteStream')],
    ['its expiry', (r: SigV4Request) => withQuery(r, 'X-Amz-Expires', '604800')],
    ['its date', (r: SigV4Request) => withQuery(r, 'X-Amz-Date', '20260126T093100Z')],
    ['the content type', (r: SigV4Request) => ({ ...r, headers: { ...r.headers, 'content-type': 'application/x-amz-cbor-1.1' } })],
  ])('refuses one whose %s was altered', async (_name, alter) => {
    const altered = alter(await presigned());
    expect(codeOf(() => verifier().verifySigV4(altered))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('refuses one whose x-amz-target header is left out of X-Amz-SignedHeaders', async () => {
    const req = await presigned({ targetAsHeader: true, unsigned: ['x-amz-target'] });
    expect(decodeURIComponent(req.path)).not.toMatch(/X-Amz-SignedHeaders=[^&]*x-amz-target/);
    let error: unknown;
    try {
      verifier().verifySigV4(req);
    } catch (err) {
      error = err;
    }
    expect(isTollstreamError(error, 'AUTH_SIGNATURE_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/'x-amz-target' must be a 'SignedHeader'/);
  });

  it('refuses a request signed both in the query and in the Authorization header', async () => {
    const header = await signed();
    const query = await presigned();
    expect(codeOf(() => verifier().verifySigV4({ ...query, headers: { ...query.headers, authorization: String(header.headers.authorization) } }))).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('refuses a query with only some of the SigV4 parameters as malformed', async () => {
    const req = await presigned();
    const [path, query] = req.path.split('?') as [string, string];
    const params = new URLSearchParams(query);
    params.delete('X-Amz-Signature');
    expect(codeOf(() => verifier().verifySigV4({ ...req, path: `${path}?${params.toString()}` }))).toBe('AUTH_MISSING');
    expect(codeOf(() => verifier().verifySigV4(withQuery(req, 'X-Amz-Expires', 'soon')))).toBe('AUTH_MISSING');
  });

  it('in local mode checks only the form', async () => {
    const local = createAuthenticator({ accessKeys: [], apiKeys: [] });
    const req = await presigned();
    expect(codeOf(() => local.verifySigV4({ ...req, body: Buffer.from('{}') }))).toBe('passed');
    expect(codeOf(() => local.verifySigV4(withQuery(req, 'X-Amz-Algorithm', 'AWS4-HMAC-SHA1')))).toBe('AUTH_MISSING');
  });
});
