import cbor from 'cbor';
import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../core/errors.ts';
import { AWS_CBOR, AWS_JSON, blob, timestamp, wireFormatOf } from './wire.ts';

describe('wire formats', () => {
  it('picks CBOR by Content-Type only, JSON otherwise', () => {
    expect(wireFormatOf('application/x-amz-cbor-1.1')).toBe(AWS_CBOR);
    expect(wireFormatOf('Application/X-Amz-Cbor-1.1; charset=binary')).toBe(AWS_CBOR);
    expect(wireFormatOf('application/x-amz-json-1.1')).toBe(AWS_JSON);
    expect(wireFormatOf(undefined)).toBe(AWS_JSON);
  });

  it('writes blobs and timestamps in each format: base64 and epoch seconds, byte strings and tag 1 around epoch ms', () => {
    const value = { Data: blob(new Uint8Array([0, 255])), At: timestamp(1_700_000_000_123) };
    expect(JSON.parse(String(AWS_JSON.encode(value)))).toEqual({ Data: 'AP8=', At: 1_700_000_000.123 });
    const bytes = AWS_CBOR.encode(value) as Buffer;
    expect(cbor.decodeFirstSync(bytes, { tags: { 1: (v: unknown) => ({ tag1: v }) } })).toEqual({ Data: Buffer.from([0, 255]), At: { tag1: 1_700_000_000_123 } });
  });

  it('encodes a CBOR response larger than the encoder stream\'s buffer whole', () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ Data: blob(Buffer.alloc(256 * 1024, i)), ApproximateArrivalTimestamp: timestamp(i) }));
    const bytes = AWS_CBOR.encode({ Records: records }) as Buffer;
    const back = cbor.decodeFirstSync(bytes) as { Records: Array<{ Data: Buffer }> };
    expect(back.Records).toHaveLength(40);
    expect(back.Records[39]!.Data.equals(Buffer.alloc(256 * 1024, 39))).toBe(true);
  });

  it('decodes a large CBOR request whole', async () => {
    const body = await cbor.encodeAsync({ Records: Array.from({ length: 5 }, (_, i) => ({ Data: Buffer.alloc(1000 * 1024, i) })) });
    const input = AWS_CBOR.decode(body) as { Records: Array<{ Data: Buffer }> };
    expect(input.Records.map((r) => r.Data.length)).toEqual(Array(5).fill(1000 * 1024));
    expect(input.Records[4]!.Data.equals(Buffer.alloc(1000 * 1024, 4))).toBe(true);
  });

  it('reads indefinite-length maps, lists and strings (how Jackson writes objects, lists and very long text)', () => {
    const body = Buffer.concat([
      Buffer.from([0xbf]), // map, indefinite
      cbor.encodeOne('ShardIterator'),
      Buffer.from([0x7f]), cbor.encodeOne('abc'), cbor.encodeOne('def'), Buffer.from([0xff]), // text in two chunks
      cbor.encodeOne('Records'),
      Buffer.from([0x9f]), Buffer.from([0x5f]), cbor.encodeOne(Buffer.from([1])), cbor.encodeOne(Buffer.from([2, 3])), Buffer.from([0xff]), Buffer.from([0xff]),
      Buffer.from([0xff]),
    ]);
    expect(AWS_CBOR.decode(body)).toEqual({ ShardIterator: 'abcdef', Records: [Buffer.from([1, 2, 3])] });
  });

  it('refuses CBOR that is not one map of text keys as MALFORMED_REQUEST', () => {
    const bad = [
      Buffer.from([0xbf, 0x61]), // truncated
      cbor.encodeOne([1]),
      cbor.encodeOne(new Map([[1, 'x']])),
      Buffer.concat([cbor.encodeOne({ a: 1 }), Buffer.from([0x00])]), // trailing bytes
    ];
    for (const body of bad) {
      let caught: unknown;
      try {
        AWS_CBOR.decode(body);
      } catch (err) {
        caught = err;
      }
      expect(isTollstreamError(caught, 'MALFORMED_REQUEST')).toBe(true);
    }
    expect(AWS_CBOR.decode(Buffer.alloc(0))).toEqual({});
  });
});

describe('AWS JSON bodies above the large-string size', () => {
  const records = Array.from({ length: 500 }, (_, i) => ({
    Data: Buffer.from(JSON.stringify({ transaction_id: `tx-${i}`, note: 'é'.repeat(i % 3), pad: 'x'.repeat(200) })).toString('base64'),
    PartitionKey: `C${String(i).padStart(7, '0')}`,
  }));
  const body = Buffer.from(JSON.stringify({ StreamName: 'tolls', Records: records }));

  it('decode to what JSON.parse gives', () => {
    expect(body.length).toBeGreaterThan(128 * 1024);
    expect(AWS_JSON.decode(body)).toStrictEqual(JSON.parse(body.toString('utf8')));
  });

  it('refuse invalid JSON with the same error as before', () => {
    const broken = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(',')]);
    let message = '';
    try {
      JSON.parse(broken.toString('utf8'));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(() => AWS_JSON.decode(broken)).toThrow(expect.objectContaining({ code: 'MALFORMED_REQUEST', message: `the request body is not valid JSON: ${message}` }));
  });
});
