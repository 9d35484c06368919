/**
 * Presigned Kinesis requests (SigV4 in the query string), made with the AWS SDK's own presigner and sent to a
 * gateway that verifies signatures: a valid one runs its operation; an expired, altered or under-signed one
 * is refused with the error type AWS gives.
 */
import http from 'node:http';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/gateway/index.ts';
import { Sha256 } from '../support/sdk-sha256.ts';
import { startTestServer, TEST_CREDENTIALS, uniqueName } from '../support/test-server.ts';

interface Sent {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function post(port: number, path: string, headers: Record<string, string>, body: string): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Presigned {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

async function presignPutRecord(port: number, stream: string, options: { signingDate?: Date; expiresIn?: number; unsignedTarget?: boolean } = {}): Promise<Presigned> {
  const body = JSON.stringify({ StreamName: stream, PartitionKey: 'plate-1', Data: Buffer.from('{"toll":1}').toString('base64') });
  const signer = new SignatureV4({ service: 'kinesis', region: 'us-east-1', credentials: TEST_CREDENTIALS, sha256: Sha256 });
  const request = await signer.presign(
    {
      method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', query: {},
      headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecord' },
      body,
    },
    {
      expiresIn: options.expiresIn ?? 300,
      ...(options.signingDate ? { signingDate: options.signingDate } : {}),
      ...(options.unsignedTarget ? { unhoistableHeaders: new Set(['x-amz-target']), unsignableHeaders: new Set(['x-amz-target']) } : {}),
    },
  );
  const query = Object.entries(request.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  return { path: `/?${query}`, headers: request.headers, body };
}

describe('a presigned PutRecord', () => {
  it('is stored when valid, and refused when expired, altered or with its operation header unsigned', async () => {
    await using server = await startTestServer({ authenticator: createAuthenticator({ accessKeys: [TEST_CREDENTIALS], apiKeys: [] }) });
    const kinesis = server.kinesis();
    const stream = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));

    const valid = await presignPutRecord(server.port, stream);
    expect(valid.headers.authorization).toBeUndefined();
    const put = await post(server.port, valid.path, valid.headers, valid.body);
    expect(put.status).toBe(200);
    expect(put.body.SequenceNumber).toEqual(expect.any(String));

    const expired = await presignPutRecord(server.port, stream, { signingDate: new Date(Date.now() - 120_000), expiresIn: 60 });
    const late = await post(server.port, expired.path, expired.headers, expired.body);
    expect(late.status).toBe(400);
    expect(late.body.__type).toBe('InvalidSignatureException');

    const tampered = await post(server.port, valid.path, valid.headers, valid.body.replace('plate-1', 'plate-2'));
    expect(tampered.status).toBe(403);
    expect(tampered.body.__type).toBe('InvalidSignatureException');

    const underSigned = await presignPutRecord(server.port, stream, { unsignedTarget: true });
    expect(underSigned.headers['x-amz-target']).toBe('Kinesis_20131202.PutRecord');
    const refused = await post(server.port, underSigned.path, underSigned.headers, underSigned.body);
    expect(refused.status).toBe(403);
    expect(refused.body.__type).toBe('InvalidSignatureException');
    expect(String(refused.body.message)).toContain("'x-amz-target' must be a 'SignedHeader'");

    // Only the valid request stored a record.
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
    const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records?.map((r) => [r.PartitionKey, Buffer.from(r.Data!).toString()])).toEqual([['plate-1', '{"toll":1}']]);
  });
});
