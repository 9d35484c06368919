/**
 * The one place where errors become responses: TollstreamError codes to Kinesis/Firehose `__type`s
 * (JSON 1.1 error shape, which the AWS SDKs turn into typed exceptions) and to the native API's
 * `{ error: { code, message, context } }`. Anything that is not a TollstreamError is a bug: it is logged
 * with the request id and answered 500 without internals.
 */
import { TollstreamError, type ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { AWS_CBOR } from './aws/wire.ts';

export interface ErrorResponse {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers: Record<string, string>;
}

interface AwsError {
  readonly type: string;
  readonly status: number;
}

/** Codes absent here follow their kind: user errors are InvalidArgumentException, the rest InternalFailure. */
const AWS_ERRORS: Partial<Record<ErrorCode, AwsError>> = {
  STREAM_NOT_FOUND: { type: 'ResourceNotFoundException', status: 400 },
  SHARD_NOT_FOUND: { type: 'ResourceNotFoundException', status: 400 },
  NOT_FOUND: { type: 'ResourceNotFoundException', status: 400 },
  STREAM_EXISTS: { type: 'ResourceInUseException', status: 400 },
  STREAM_BUSY: { type: 'ResourceInUseException', status: 400 },
  CONSUMER_EXISTS: { type: 'ResourceInUseException', status: 400 },
  SHARD_CLOSED: { type: 'ResourceInUseException', status: 400 },
  INVALID_ARGUMENT: { type: 'InvalidArgumentException', status: 400 },
  ITERATOR_INVALID: { type: 'InvalidArgumentException', status: 400 },
  SEQUENCE_NOT_FOUND: { type: 'InvalidArgumentException', status: 400 },
  PAYLOAD_TOO_LARGE: { type: 'InvalidArgumentException', status: 413 },
  ITERATOR_EXPIRED: { type: 'ExpiredIteratorException', status: 400 },
  LIMIT_EXCEEDED: { type: 'LimitExceededException', status: 400 },
  THROUGHPUT_EXCEEDED: { type: 'ProvisionedThroughputExceededException', status: 400 },
  VALIDATION_FAILED: { type: 'ValidationException', status: 400 },
  MALFORMED_REQUEST: { type: 'SerializationException', status: 400 },
  UNKNOWN_OPERATION: { type: 'UnknownOperationException', status: 400 },
  AUTH_MISSING: { type: 'MissingAuthenticationTokenException', status: 403 },
  AUTH_UNKNOWN_KEY: { type: 'UnrecognizedClientException', status: 400 },
  AUTH_SIGNATURE_INVALID: { type: 'InvalidSignatureException', status: 403 },
  AUTH_SIGNATURE_EXPIRED: { type: 'InvalidSignatureException', status: 400 },
  UNAUTHORIZED: { type: 'UnrecognizedClientException', status: 400 },
  FORBIDDEN: { type: 'AccessDeniedException', status: 400 },
  LOG_CLOSED: { type: 'InternalFailure', status: 500 },
  WAREHOUSE_UNAVAILABLE: { type: 'ServiceUnavailableException', status: 503 },
  // The AWS SDKs retry both as transient errors (by their status and by these types), with backoff.
  OVERLOADED: { type: 'ServiceUnavailableException', status: 503 },
  REQUEST_TIMEOUT: { type: 'RequestTimeoutException', status: 408 },
  IO_ERROR: { type: 'InternalFailure', status: 500 },
  INTERNAL: { type: 'InternalFailure', status: 500 },
};

/** Codes absent here follow their kind: user 400, external 503, internal 500. */
const NATIVE_STATUS: Partial<Record<ErrorCode, number>> = {
  STREAM_NOT_FOUND: 404,
  SHARD_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  STREAM_EXISTS: 409,
  STREAM_BUSY: 409,
  CONSUMER_EXISTS: 409,
  SHARD_CLOSED: 409,
  QUERY_EXISTS: 409,
  FUNCTION_EXISTS: 409,
  FUNCTION_CHANGED: 409,
  TABLES_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  THROUGHPUT_EXCEEDED: 429,
  UNAUTHORIZED: 401,
  AUTH_MISSING: 401,
  AUTH_UNKNOWN_KEY: 401,
  AUTH_SIGNATURE_INVALID: 401,
  AUTH_SIGNATURE_EXPIRED: 401,
  FORBIDDEN: 403,
  PATH_NOT_ALLOWED: 403,
  LOG_CLOSED: 503,
  WAREHOUSE_READ_ONLY: 400,
  WAREHOUSE_REJECTED: 400,
  WAREHOUSE_UNAVAILABLE: 503,
  OVERLOADED: 503,
  REQUEST_TIMEOUT: 408,
  /** Two deliveries writing one table from one stream: the state conflicts, as STREAM_EXISTS does. */
  DELIVERY_POSITION_CONFLICT: 409,
  /** Asked of a node without the lease the work needs: the holder (context `owner`) is the one to ask. */
  LEASE_NOT_HELD: 409,
  WAREHOUSE_TOO_MANY_QUERIES: 429,
};

/** `aws-cbor`: the AWS shape in CBOR, for a request sent in CBOR (the Java SDK's default). */
export type ErrorShape = 'aws' | 'aws-cbor' | 'native';

/**
 * The response for `err` in the shape of the API that failed. Unknown errors are logged (they are bugs)
 * and answered with a generic message naming the request id.
 */
export function errorResponse(err: unknown, shape: ErrorShape, logger: Logger, requestId: string): ErrorResponse {
  const known = err instanceof TollstreamError ? err : undefined;
  if (!known || known.kind === 'internal') {
    logger.error('request failed', { requestId, err: err instanceof Error ? err : String(err) });
  }
  const code: ErrorCode = known?.code ?? 'INTERNAL';
  const message = known && known.kind !== 'internal' ? known.message : `internal error; the server log has the details (request id ${requestId})`;
  // An error that says when to come back (a resource limit) says it in the standard header too.
  const retryAfter = known?.context.retryAfterSeconds;
  const retryHeader: Record<string, string> = typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {};

  if (shape === 'aws' || shape === 'aws-cbor') {
    const aws = AWS_ERRORS[code] ?? (known?.kind === 'user' ? { type: 'InvalidArgumentException', status: 400 } : { type: 'InternalFailure', status: 500 });
    const payload = { __type: aws.type, message };
    return {
      status: aws.status,
      headers: { 'content-type': shape === 'aws' ? 'application/x-amz-json-1.1' : AWS_CBOR.contentType, 'x-amzn-errortype': aws.type, ...retryHeader },
      body: shape === 'aws' ? JSON.stringify(payload) : AWS_CBOR.encode(payload),
    };
  }
  const status = NATIVE_STATUS[code] ?? (known === undefined ? 500 : known.kind === 'user' ? 400 : known.kind === 'external' ? 503 : 500);
  const context = known && known.kind !== 'internal' && Object.keys(known.context).length > 0 ? known.context : undefined;
  return {
    status,
    headers: { 'content-type': 'application/json', ...retryHeader, ...nativeStatusHeaders(status, known) },
    body: JSON.stringify({ error: { code, message, ...(context ? { context } : {}) } }),
  };
}

/**
 * The headers HTTP asks of a status: a 401 names the scheme to authenticate with (RFC 9110, 11.6.1; the
 * operator key and the customer tokens are both bearer tokens), a 405 the methods the path answers (15.5.6).
 */
function nativeStatusHeaders(status: number, known: TollstreamError | undefined): Record<string, string> {
  if (status === 401) return { 'www-authenticate': 'Bearer realm="tollstream"' };
  const allow = known?.code === 'METHOD_NOT_ALLOWED' ? known.context.allow : undefined;
  if (status === 405 && Array.isArray(allow)) return { allow: allow.join(', ') };
  return {};
}
