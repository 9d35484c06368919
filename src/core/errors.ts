/**
 * Every error Tollstream raises on purpose is a `TollstreamError` with a stable `code`.
 * Callers branch on `code` (or on `kind`/`retriable`), never on message text.
 * The HTTP layer maps codes to responses in one place (see `src/gateway/errors.ts`).
 */

/** Who has to act: the caller fixes a `user` error, an `external` one is a dependency's fault, `internal` is ours. */
export type ErrorKind = 'user' | 'external' | 'internal';

interface CodeInfo {
  readonly kind: ErrorKind;
  readonly retriable: boolean;
}

/** The table of error codes. Adding a code here is the only way to create a new one. */
export const ERROR_CODES = {
  // Configuration and start-up
  CONFIG_INVALID: { kind: 'user', retriable: false },
  /** Another running process holds the data directory's lock. */
  DATA_DIR_LOCKED: { kind: 'user', retriable: false },
  // Requests
  INVALID_ARGUMENT: { kind: 'user', retriable: false },
  LIMIT_EXCEEDED: { kind: 'user', retriable: false },
  PAYLOAD_TOO_LARGE: { kind: 'user', retriable: false },
  MALFORMED_REQUEST: { kind: 'user', retriable: false },
  UNKNOWN_OPERATION: { kind: 'user', retriable: false },
  /** A request field breaks a declared constraint (length, range, count): Kinesis' ValidationException. */
  VALIDATION_FAILED: { kind: 'user', retriable: false },
  /** A shard refused a write for now (Kinesis' ProvisionedThroughputExceededException); retry with backoff. */
  THROUGHPUT_EXCEEDED: { kind: 'user', retriable: true },
  UNAUTHORIZED: { kind: 'user', retriable: false },
  /** A request body stopped arriving for longer than `http.bodyTimeoutMs`; the connection (or HTTP/2 stream) is closed. */
  REQUEST_TIMEOUT: { kind: 'user', retriable: true },
  /** The server is at a resource limit (`http.maxBodyBytesInFlight`): retry after the response's Retry-After. */
  OVERLOADED: { kind: 'external', retriable: true },
  // SigV4 (Kinesis and Firehose APIs): MissingAuthenticationToken, UnrecognizedClient, InvalidSignature
  AUTH_MISSING: { kind: 'user', retriable: false },
  AUTH_UNKNOWN_KEY: { kind: 'user', retriable: false },
  AUTH_SIGNATURE_INVALID: { kind: 'user', retriable: false },
  AUTH_SIGNATURE_EXPIRED: { kind: 'user', retriable: false },
  FORBIDDEN: { kind: 'user', retriable: false },
  /** A request named a file outside the directory such files must come from (or a link leading out of it). */
  PATH_NOT_ALLOWED: { kind: 'user', retriable: false },
  NOT_FOUND: { kind: 'user', retriable: false },
  /** The path exists but does not answer this method; context `allow` lists the methods it answers. */
  METHOD_NOT_ALLOWED: { kind: 'user', retriable: false },
  // Tables: a conditional write whose condition did not hold (re-read the item and decide again)
  CONDITION_FAILED: { kind: 'user', retriable: false },
  // Streams and shards
  STREAM_NOT_FOUND: { kind: 'user', retriable: false },
  STREAM_EXISTS: { kind: 'user', retriable: false },
  STREAM_BUSY: { kind: 'user', retriable: true },
  /** The stream already has a consumer of that name (Kinesis' ResourceInUseException). */
  CONSUMER_EXISTS: { kind: 'user', retriable: false },
  SHARD_NOT_FOUND: { kind: 'user', retriable: false },
  /**
   * A shard's JetStream stream had no leader that answered an append for longer than the writer waits (12 s, or the
   * log's request timeout if longer): the cluster lost the stream's quorum, or this node is cut off from it. The
   * records may or may not be stored; sending them again with their dedupe keys is safe.
   */
  SHARD_UNAVAILABLE: { kind: 'external', retriable: true },
  /** The shard was already split or merged, so it cannot be again (Kinesis' ResourceInUseException). */
  SHARD_CLOSED: { kind: 'user', retriable: false },
  ITERATOR_INVALID: { kind: 'user', retriable: false },
  ITERATOR_EXPIRED: { kind: 'user', retriable: false },
  SEQUENCE_NOT_FOUND: { kind: 'user', retriable: false },
  // Storage
  LOG_CORRUPT: { kind: 'internal', retriable: false },
  LOG_CLOSED: { kind: 'internal', retriable: true },
  IO_ERROR: { kind: 'external', retriable: true },
  /** A state file (a query's definition or checkpoint) failed its checksum or has an unknown layout: it is not read. */
  STATE_CORRUPT: { kind: 'internal', retriable: false },
  // Warehouse and delivery
  /** A warehouse query tried to write: reports and ad-hoc queries are read-only. */
  WAREHOUSE_READ_ONLY: { kind: 'user', retriable: false },
  /** The warehouse refused the data itself (a value out of range, a constraint): retrying the same rows fails again. */
  WAREHOUSE_REJECTED: { kind: 'user', retriable: false },
  /** The warehouse could not be reached or written (disk, lock, connection): delivery retries. */
  WAREHOUSE_UNAVAILABLE: { kind: 'external', retriable: true },
  /** A batch would move a delivery position backwards: another delivery writes the same table from the same stream. */
  DELIVERY_POSITION_CONFLICT: { kind: 'internal', retriable: false },
  /** A warehouse query would return more rows than `warehouse.maxResultRows`: add a LIMIT or ask for a streamed format. */
  WAREHOUSE_RESULT_TOO_LARGE: { kind: 'user', retriable: false },
  /** A warehouse query ran past `warehouse.queryTimeoutMs` and was interrupted. */
  WAREHOUSE_QUERY_TIMEOUT: { kind: 'user', retriable: false },
  /** A warehouse query needed more memory than the warehouse may use (`warehouse.memoryLimitMiB`). */
  WAREHOUSE_OUT_OF_MEMORY: { kind: 'user', retriable: false },
  /** The caller already runs as many warehouse queries as it may at once; retry when one has finished. */
  WAREHOUSE_TOO_MANY_QUERIES: { kind: 'user', retriable: true },
  /** A warehouse file is damaged (a checksum or a short read): the server's storage, not the request, is at fault. */
  WAREHOUSE_CORRUPT: { kind: 'internal', retriable: false },
  // Leases (who owns which unit of work in a cluster)
  /** The lease table could not be read or written (PostgreSQL unreachable or too slow): leases not renewed are dropped. */
  LEASES_UNAVAILABLE: { kind: 'external', retriable: true },
  /**
   * A write fenced by a lease (a function mapping's commit, a query's checkpoint) was refused in its transaction:
   * this node no longer holds the unit's lease, another node took it. Nothing was written; the work stops here and
   * goes on there.
   */
  LEASE_LOST: { kind: 'external', retriable: false },
  /**
   * Work that must run under a lease (a redrive of a function's given-up batch on a cluster) was asked of a node that
   * does not hold it. Context `owner` names the node holding it when known (null: nobody right now): ask that node.
   */
  LEASE_NOT_HELD: { kind: 'user', retriable: true },
  // Tables (SQLite files of the tables component)
  /** A tables database failed its integrity check at open: it is refused, naming the file. */
  TABLES_CORRUPT: { kind: 'internal', retriable: false },
  /** A tables database that existed before is missing: starting empty would silently lose its items. */
  TABLES_MISSING: { kind: 'user', retriable: false },
  /** The PostgreSQL server holding the tables could not be reached or refused the connection: retry. */
  TABLES_UNAVAILABLE: { kind: 'external', retriable: true },
  /** A tables transaction kept meeting concurrent ones (serialization failures) through every attempt: retry it. */
  TABLES_CONFLICT: { kind: 'user', retriable: true },
  // Streaming SQL: the query text (syntax), its meaning (plan), and the inputs it runs over
  SQL_SYNTAX: { kind: 'user', retriable: false },
  SQL_PLAN: { kind: 'user', retriable: false },
  SQL_INPUT: { kind: 'user', retriable: false },
  /** A continuous query of that name already exists (drop it first, or pick another name). */
  QUERY_EXISTS: { kind: 'user', retriable: false },
  /**
   * The worker thread running a query's operators died (out of memory at `queries.threadMemoryMiB`, or exited).
   * The manager restarts the query from its last checkpoint a few times (docs/queries.md); past that it stays FAILED.
   */
  QUERY_THREAD_CRASHED: { kind: 'user', retriable: false },
  // Deployed functions (docs/functions.md)
  /** A deployed function of that name already exists (update it, or delete it first). */
  FUNCTION_EXISTS: { kind: 'user', retriable: false },
  /** A handler module that does not build or load, or exports no handler function. */
  FUNCTION_CODE_INVALID: { kind: 'user', retriable: false },
  /** An invocation ran past the function's timeout; its worker was stopped and the batch is retried. */
  FUNCTION_TIMEOUT: { kind: 'user', retriable: true },
  /** A handler's worker died (out of memory, or exited); the batch is retried in a new worker. */
  FUNCTION_CRASHED: { kind: 'user', retriable: true },
  /**
   * A change to a deployed function made from a definition another node of the cluster changed (or deleted) since
   * this node read it: read it again and retry (docs/functions.md, "On a cluster").
   */
  FUNCTION_CHANGED: { kind: 'user', retriable: true },
  /**
   * A dead letter sent again failed again (a batch a function gave up on, a record the warehouse could not load); it
   * stays a dead letter, with the new error, and may be sent again later.
   */
  REDRIVE_FAILED: { kind: 'user', retriable: true },
  // Email through an SMTP relay (src/notify/smtp.ts)
  /** The relay could not be reached, did not answer in time, or answered 4xx: try later. */
  SMTP_UNAVAILABLE: { kind: 'external', retriable: true },
  /** The relay refused the message for good (a 5xx reply): sending it again fails again. */
  SMTP_REJECTED: { kind: 'external', retriable: false },
  /** The relay refused the login (wrong user or password), or offers no login this client speaks. */
  SMTP_AUTH_FAILED: { kind: 'user', retriable: false },
  /**
   * The connection could not be encrypted as configured: the relay offers no STARTTLS, its certificate does not
   * verify (an unknown CA, another name), or a password would have crossed an unencrypted connection.
   */
  SMTP_TLS_FAILED: { kind: 'user', retriable: false },
  // Apps loaded from a user's project (the `apps` setting)
  /** A module the `apps` setting names does not exist (context `module`: the path as given and as resolved). */
  APP_MODULE_NOT_FOUND: { kind: 'user', retriable: false },
  /** A module the `apps` setting names does not load, or exports no `App` (context `module`, and what is missing). */
  APP_MODULE_INVALID: { kind: 'user', retriable: false },
  // Anything else
  INTERNAL: { kind: 'internal', retriable: false },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorOptions {
  /** Facts that locate the problem: stream, shard, file, offset, key... Logged and returned to API callers. */
  readonly context?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class TollstreamError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TollstreamError';
    this.code = code;
    this.kind = ERROR_CODES[code].kind;
    this.retriable = ERROR_CODES[code].retriable;
    this.context = options.context ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(Object.keys(this.context).length ? { context: this.context } : {}) };
  }
}

export function isTollstreamError(err: unknown, code?: ErrorCode): err is TollstreamError {
  return err instanceof TollstreamError && (code === undefined || err.code === code);
}

/** Wraps anything thrown by a dependency or a bug, keeping it as `cause`. */
export function toTollstreamError(err: unknown): TollstreamError {
  if (err instanceof TollstreamError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TollstreamError('INTERNAL', message, { cause: err });
}

/** INVALID_ARGUMENT naming a field of the body (`dedupe.mode`), with a preview of the value when given. */
export function invalidField(field: string, message: string, value?: unknown): TollstreamError {
  return new TollstreamError('INVALID_ARGUMENT', message, { context: { field, ...(value === undefined ? {} : { value: preview(value) }) } });
}

/** INVALID_ARGUMENT naming a query parameter, with a preview of the value when given. */
export function invalidParameter(parameter: string, message: string, value?: unknown): TollstreamError {
  return new TollstreamError('INVALID_ARGUMENT', message, { context: { parameter, ...(value === undefined ? {} : { value: preview(value) }) } });
}

/** Long values are cut in error context, so a huge field does not come back whole. */
function preview(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 100 ? `${value.slice(0, 100)}...` : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return Array.isArray(value) ? '(array)' : `(${typeof value})`;
}
