/**
 * With SigV4 verified, the headers that choose the operation are part of what is signed: a captured request
 * cannot be replayed as another operation by changing a header its signature left out.
 */
import http from 'node:http';
import { PutRecordCommand as FirehosePutRecordCommand } from '@aws-sdk/client-firehose';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/gateway/index.ts';
import { Sha256 } from '../support/sdk-sha256.ts';
import { startTestServer, TEST_CREDENTIALS, uniqueName } from '../support/test-server.ts';

interface Sent {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function post(port: number, headers: Record<string, string>, body: string): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the operation a signed request runs', () => {
  it('a PutRecord whose X-Amz-Target was left unsigned is refused, and replayed as DeleteStream it deletes nothing', async () => {
    await using server = await startTestServer({ authenticator: createAuthenticator({ accessKeys: [TEST_CREDENTIALS], apiKeys: [] }) });
    const kinesis = server.kinesis();
    const stream = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    // The SDKs' own clients sign the target and the content type: their requests pass (Kinesis over HTTP/2, Firehose over HTTP/1.1).
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'plate-1', Data: Buffer.from('{"toll":1}') }));
    await server.firehose().send(new FirehosePutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from('{"toll":0}') } }));

    const body = JSON.stringify({ StreamName: stream, PartitionKey: 'plate-2', Data: Buffer.from('{"toll":2}').toString('base64') });
    const signer = new SignatureV4({ service: 'kinesis', region: 'us-east-1', credentials: TEST_CREDENTIALS, sha256: Sha256 });
    const captured = await signer.sign(
      {
        method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: server.port, path: '/', query: {},
        headers: { host: `127.0.0.1:${server.port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecord' },
        body,
      },
      { unsignableHeaders: new Set(['x-amz-target']) },
    );
    expect(captured.headers.authorization).not.toContain('x-amz-target');

    const asSent = await post(server.port, captured.headers, body);
    expect(asSent.status).toBe(403);
    expect(asSent.body.__type).toBe('InvalidSignatureException');
    expect(String(asSent.body.message)).toContain("'x-amz-target' must be a 'SignedHeader'");

    const replayed = await post(server.port, { ...captured.headers, 'x-amz-target': 'Kinesis_20131202.DeleteStream' }, body);
    expect(replayed.status).toBe(403);
    expect(replayed.body.__type).toBe('InvalidSignatureException');
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    expect(summary.StreamDescriptionSummary?.StreamStatus).toBe('ACTIVE');
  });
});
