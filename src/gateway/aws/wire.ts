/**
 * The two wire formats of the Kinesis and Firehose APIs. Operations take and return plain objects; the only
 * values whose encoding differs between the formats are blobs and timestamps, which operations return as
 * `Blob` and `Timestamp`, and each format writes in its own way:
 *
 * - AWS JSON 1.1 (`application/x-amz-json-1.1`): blobs are base64 strings, timestamps epoch seconds
 *   with a fractional part.
 * - AWS CBOR 1.1 (`application/x-amz-cbor-1.1`, the Java SDK's default for Kinesis, v1 and v2): blobs are
 *   CBOR byte strings, timestamps tag 1 around an integer of epoch milliseconds. Tag 1 means seconds in the
 *   CBOR standard, but the Java SDKs write milliseconds under it and read any number there as milliseconds.
 */
import cbor from 'cbor';
import { TollstreamError } from '../../core/errors.ts';
import type { Json } from './input.ts';
import { parseJsonBytes } from '../../core/json/index.ts';

/** Binary data in a response. */
export class Blob {
  constructor(readonly bytes: Buffer) {}
  toJSON(): string {
    return this.bytes.toString('base64');
  }
  encodeCBOR(encoder: cbor.Encoder): boolean {
    return encoder.pushAny(this.bytes);
  }
}

/** An instant in a response, ms since the epoch. */
export class Timestamp {
  constructor(readonly ms: number) {}
  toJSON(): number {
    return this.ms / 1000;
  }
  encodeCBOR(encoder: cbor.Encoder): boolean {
    return encoder.pushAny(new cbor.Tagged(EPOCH_TAG, Math.round(this.ms)));
  }
}

/** Bytes as a response blob, without copying. */
export const blob = (bytes: Uint8Array): Blob => new Blob(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
export const timestamp = (ms: number): Timestamp => new Timestamp(ms);

export interface WireFormat {
  readonly name: 'json' | 'cbor';
  readonly contentType: string;
  /** The request body as an object; an empty body is `{}`. Throws MALFORMED_REQUEST otherwise. */
  decode(body: Buffer): Json;
  encode(value: unknown): Buffer | string;
}

const EPOCH_TAG = 1;

/**
 * From this size on a JSON body is parsed from its bytes (core/json): V8 keeps a string this long in its
 * large-object space, which costs more per request than the parsing; below it JSON.parse is faster.
 */
const LARGE_STRING_BYTES = 128 * 1024;

export const AWS_JSON: WireFormat = {
  name: 'json',
  contentType: 'application/x-amz-json-1.1',
  decode(body) {
    if (body.length === 0) return {};
    if (body.length >= LARGE_STRING_BYTES) {
      const parsed = parseJsonBytes(body);
      if (parsed !== undefined) return requireObject(parsed, 'JSON');
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new TollstreamError('MALFORMED_REQUEST', `the request body is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    return requireObject(value, 'JSON');
  },
  encode: (value) => JSON.stringify(value),
};

/**
 * Tag handling for requests: tag 1 (what the Java SDK writes for every timestamp) becomes a Date read as
 * milliseconds; every other tag the library would turn into a JavaScript object (RegExp, URL, Set, typed
 * arrays, ...) is left as an uninterpreted tagged value, which no field accepts.
 */
type TagConverter = (value: unknown, tagged: cbor.Tagged) => unknown;
const uninterpreted: TagConverter = (_value, tagged) => tagged;
const REQUEST_TAGS: Record<string, TagConverter> = Object.fromEntries(Object.keys(cbor.Tagged.TAGS).map((tag) => [tag, uninterpreted]));
REQUEST_TAGS[EPOCH_TAG] = (value, tagged) => (typeof value === 'number' && Number.isFinite(value) ? new Date(value) : tagged);

/** Deeper than any Kinesis or Firehose request needs; bounds the work a hostile body can cause. */
const MAX_CBOR_DEPTH = 32;

/**
 * The encoder is a stream: encoding synchronously, it hands back only what fits under its stream
 * highWaterMark (16 KiB by default) and drops the rest. No response comes near this bound (GetRecords
 * returns at most 10 MiB of data). The library's types omit the stream options it passes on.
 */
const ENCODER_OPTIONS = { omitUndefinedProperties: true, highWaterMark: 1 << 30 };

export const AWS_CBOR: WireFormat = {
  name: 'cbor',
  contentType: 'application/x-amz-cbor-1.1',
  decode(body) {
    if (body.length === 0) return {};
    let value: unknown;
    try {
      value = cbor.Decoder.decodeFirstSync(body, { tags: REQUEST_TAGS, max_depth: MAX_CBOR_DEPTH, preventDuplicateKeys: true });
    } catch (err) {
      throw new TollstreamError('MALFORMED_REQUEST', `the request body is not valid CBOR: ${(err as Error).message}`, { cause: err });
    }
    // A map with a key that is not a text string (or is `__proto__`) decodes to a Map: no request has one.
    return requireObject(value, 'CBOR');
  },
  encode: (value) => cbor.Encoder.encodeOne(value, ENCODER_OPTIONS),
};

function requireObject(value: unknown, format: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    throw new TollstreamError('MALFORMED_REQUEST', `the request body must be a ${format} map of text keys`);
  }
  return value as Json;
}

/** The wire format of a request, by its Content-Type; anything but CBOR is read as JSON, as before. */
export function wireFormatOf(contentType: string | string[] | undefined): WireFormat {
  const value = (Array.isArray(contentType) ? contentType[0] : contentType)?.trim().toLowerCase();
  return value !== undefined && value.startsWith(AWS_CBOR.contentType) ? AWS_CBOR : AWS_JSON;
}
