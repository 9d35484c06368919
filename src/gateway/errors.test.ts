import cbor from 'cbor';
import { describe, expect, it } from 'vitest';
import { TollstreamError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { errorResponse } from './errors.ts';

const lines: string[] = [];
const logger = createLogger({ level: 'error', write: (line) => lines.push(line) });

describe('error responses', () => {
  it('answers damaged warehouse storage as a server fault (500, code kept, message withheld), a busy caller as 429', () => {
    const damaged = errorResponse(new TollstreamError('WAREHOUSE_CORRUPT', 'checksum mismatch in /data/warehouse.duckdb'), 'native', logger, 'req-w');
    expect(damaged.status).toBe(500);
    expect(JSON.parse(String(damaged.body))).toMatchObject({ error: { code: 'WAREHOUSE_CORRUPT' } });
    expect(String(damaged.body)).not.toContain('/data/warehouse.duckdb');
    expect(errorResponse(new TollstreamError('WAREHOUSE_TOO_MANY_QUERIES', 'busy'), 'native', logger, 'req-x').status).toBe(429);
  });

  it('maps codes to Kinesis exception types', () => {
    const cases: Array<[TollstreamError, string, number]> = [
      [new TollstreamError('STREAM_NOT_FOUND', 'gone'), 'ResourceNotFoundException', 400],
      [new TollstreamError('STREAM_EXISTS', 'dup'), 'ResourceInUseException', 400],
      [new TollstreamError('ITERATOR_EXPIRED', 'old'), 'ExpiredIteratorException', 400],
      [new TollstreamError('THROUGHPUT_EXCEEDED', 'busy'), 'ProvisionedThroughputExceededException', 400],
      [new TollstreamError('AUTH_MISSING', 'no auth'), 'MissingAuthenticationTokenException', 403],
      [new TollstreamError('AUTH_SIGNATURE_INVALID', 'bad sig'), 'InvalidSignatureException', 403],
      [new TollstreamError('AUTH_UNKNOWN_KEY', 'who'), 'UnrecognizedClientException', 400],
      [new TollstreamError('MALFORMED_REQUEST', 'bad json'), 'SerializationException', 400],
    ];
    for (const [err, type, status] of cases) {
      const r = errorResponse(err, 'aws', logger, 'req-1');
      expect(r.status).toBe(status);
      expect(JSON.parse(String(r.body))).toEqual({ __type: type, message: err.message });
    }
  });

  it('answers a CBOR request\'s error in CBOR, with the same __type, status and header', () => {
    const err = new TollstreamError('STREAM_NOT_FOUND', 'gone');
    const json = errorResponse(err, 'aws', logger, 'req-5');
    const binary = errorResponse(err, 'aws-cbor', logger, 'req-5');
    expect(binary.status).toBe(json.status);
    expect(binary.headers).toEqual({ 'content-type': 'application/x-amz-cbor-1.1', 'x-amzn-errortype': 'ResourceNotFoundException' });
    expect(Buffer.isBuffer(binary.body)).toBe(true);
    expect(cbor.decodeFirstSync(binary.body as Buffer)).toEqual({ __type: 'ResourceNotFoundException', message: 'gone' });
  });

  it('maps codes to native statuses with code, message and context', () => {
    const r = errorResponse(new TollstreamError('STREAM_NOT_FOUND', 'no stream x', { context: { stream: 'x' } }), 'native', logger, 'req-2');
    expect(r.status).toBe(404);
    expect(JSON.parse(String(r.body))).toEqual({ error: { code: 'STREAM_NOT_FOUND', message: 'no stream x', context: { stream: 'x' } } });
  });

  it('maps the warehouse codes: read-only and rejected are the caller\'s, unavailable is 503, a position conflict 409', () => {
    const cases: Array<[TollstreamError, number, boolean]> = [
      [new TollstreamError('WAREHOUSE_READ_ONLY', 'queries are read-only'), 400, true],
      [new TollstreamError('WAREHOUSE_REJECTED', 'lane out of range'), 400, true],
      [new TollstreamError('WAREHOUSE_UNAVAILABLE', 'warehouse disabled'), 503, true],
      [new TollstreamError('DELIVERY_POSITION_CONFLICT', 'two writers'), 409, false],
    ];
    for (const [err, status, messageShown] of cases) {
      const r = errorResponse(err, 'native', logger, 'req-4');
      expect(r.status).toBe(status);
      const body = JSON.parse(String(r.body)) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(err.code);
      expect(body.error.message.includes(err.message)).toBe(messageShown);
    }
  });

  it('logs unknown errors and answers 500 without their details', () => {
    lines.length = 0;
    const secret = new Error('connection string postgres://user:pw@db');
    for (const shape of ['aws', 'native'] as const) {
      const r = errorResponse(secret, shape, logger, 'req-3');
      expect(r.status).toBe(500);
      expect(r.body).not.toContain('postgres');
      expect(r.body).toContain('req-3');
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', requestId: 'req-3' });
    expect(JSON.parse(String(errorResponse(secret, 'aws', logger, 'r').body)).__type).toBe('InternalFailure');
  });
});
