/**
 * Mirrors: every message of a topic also appended to a stream (breach notifications to the log stream a
 * warehouse delivery reads, say). Fan-out writes one pending row per (message, stream) in its own
 * transaction; the relay appends pending rows through the injected `append` and removes them once the
 * append has resolved. A crash in between leaves them pending, so they are appended again after restart,
 * carrying the same idempotency key, and a stream that deduplicates on it stores each message once.
 */
import type Database from 'better-sqlite3';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { MirrorAppend, MirrorOptions, MirrorRecord, MirrorRoute, RetryPolicy, TopicDescription } from './types.ts';
import { backoffDelayMs } from './webhook.ts';

/** Records per append call. */
const MIRROR_PAGE = 100;
const DEFAULT_KEY_FIELD = 'idempotency_key';
const TOPIC_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const FIELD_NAME = /^[A-Za-z0-9_]{1,128}$/;
const encoder = new TextEncoder();

export interface ResolvedRoute {
  readonly topic: string;
  readonly stream: string;
  readonly keyField: string;
}

export interface PendingRow {
  outbox_id: number;
  idempotency_key: string;
  message: string;
}

/** Checks the routes when notifications open, so a typo fails the start rather than every later append. */
export function resolveMirrorRoutes(options: MirrorOptions): ResolvedRoute[] {
  if (typeof options.append !== 'function') throw new TollstreamError('CONFIG_INVALID', 'mirror.append must be a function that appends records to a stream');
  const seen = new Set<string>();
  return options.routes.map((route: MirrorRoute) => {
    const keyField = route.keyField ?? DEFAULT_KEY_FIELD;
    const context = { topic: route.topic, stream: route.stream, keyField };
    if (typeof route.topic !== 'string' || !TOPIC_NAME.test(route.topic)) {
      throw new TollstreamError('CONFIG_INVALID', `mirror topic '${String(route.topic)}' must be 1-256 characters of A-Z a-z 0-9 _ . -`, { context });
    }
    if (typeof route.stream !== 'string' || route.stream.length === 0 || route.stream.length > 256) {
      throw new TollstreamError('CONFIG_INVALID', 'mirror stream must be a stream name of 1-256 characters', { context });
    }
    if (!FIELD_NAME.test(keyField)) {
      throw new TollstreamError('CONFIG_INVALID', 'mirror keyField must be a top-level property name of letters, digits and _', { context });
    }
    const id = `${route.topic}\u0000${route.stream}`;
    if (seen.has(id)) throw new TollstreamError('CONFIG_INVALID', `topic '${route.topic}' is mirrored to stream '${route.stream}' twice; list each route once`, { context });
    seen.add(id);
    return { topic: route.topic, stream: route.stream, keyField };
  });
}

/** The SQL of pending mirror rows, on the tables connection (so inside a transaction it is part of it). */
export class MirrorStore {
  readonly #stmts;

  constructor(db: Database.Database) {
    this.#stmts = {
      insert: db.prepare<[number, string, number]>(
        'INSERT INTO notify_mirror_pending (outbox_id, stream, created_at) VALUES (?, ?, ?) ON CONFLICT (outbox_id, stream) DO NOTHING',
      ),
      pending: db.prepare<[string, string, number], PendingRow>(
        `SELECT p.outbox_id, o.idempotency_key, o.message FROM notify_mirror_pending p JOIN notify_outbox o ON o.id = p.outbox_id
         WHERE p.stream = ? AND o.topic = ? ORDER BY p.outbox_id LIMIT ?`,
      ),
      remove: db.prepare<[number, string]>('DELETE FROM notify_mirror_pending WHERE outbox_id = ? AND stream = ?'),
      count: db.prepare<[], number>('SELECT count(*) FROM notify_mirror_pending').pluck(),
    };
  }

  insert(outboxId: number, stream: string, now: number): void {
    this.#stmts.insert.run(outboxId, stream, now);
  }

  pending(route: ResolvedRoute, limit: number): PendingRow[] {
    return this.#stmts.pending.all(route.stream, route.topic, limit);
  }

  remove(outboxId: number, stream: string): void {
    this.#stmts.remove.run(outboxId, stream);
  }

  count(): number {
    return this.#stmts.count.get() as number;
  }
}

/**
 * Where pending mirror rows are kept: the SQLite tables database, or PostgreSQL shared by the nodes (where the
 * rows a relay works on are held until it is done with them, so two nodes never append the same rows at once).
 */
export interface MirrorBackend {
  topic(name: string): Promise<TopicDescription | undefined>;
  /** Hands up to `limit` pending rows of `route` to `append` and removes the rows it returns (those the stream accepted). */
  take(route: ResolvedRoute, limit: number, append: (rows: readonly PendingRow[]) => Promise<readonly PendingRow[]>): Promise<void>;
}

export interface MirrorRelayDeps {
  readonly backend: MirrorBackend;
  readonly routes: readonly ResolvedRoute[];
  readonly append: MirrorAppend;
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly now: () => number;
}

export class MirrorRelay {
  readonly #deps: MirrorRelayDeps;
  readonly #byTopic = new Map<string, string[]>();
  #failures = 0;
  #retryAt = 0;

  constructor(deps: MirrorRelayDeps) {
    this.#deps = deps;
    for (const route of deps.routes) this.#byTopic.set(route.topic, [...(this.#byTopic.get(route.topic) ?? []), route.stream]);
  }

  /** The streams `topic` is mirrored to: its fan-out makes a pending row for each, in the fan-out transaction. */
  streamsOf(topic: string): readonly string[] {
    return this.#byTopic.get(topic) ?? [];
  }

  /** After a failed append, the relay waits until this time (ms since the epoch) before trying again. */
  get retryAt(): number {
    return this.#retryAt;
  }

  /**
   * Appends one page of pending messages per route and removes what the stream accepted. Returns true when
   * it moved messages (more may be waiting). Stops at the first failure, which sets `retryAt`.
   */
  async run(signal: AbortSignal): Promise<boolean> {
    const { backend, routes, append, logger } = this.#deps;
    let moved = false;
    for (const route of routes) {
      if (signal.aborted) return moved;
      const topic = await backend.topic(route.topic);
      let taken = 0;
      let failure: { messages: number; error: string } | undefined;
      try {
        await backend.take(route, MIRROR_PAGE, async (rows) => {
          taken = rows.length;
          if (rows.length === 0) return [];
          let results: readonly { readonly ok: boolean; readonly errorMessage?: string }[];
          try {
            results = await append(route.stream, rows.map((row) => this.#record(route, topic, row)));
          } catch (err) {
            if (!signal.aborted) failure = { messages: rows.length, error: err instanceof Error ? err.message : String(err) };
            return [];
          }
          const accepted = rows.filter((_, i) => results[i]?.ok === true);
          if (accepted.length < rows.length) {
            failure = { messages: rows.length - accepted.length, error: results.find((r) => r?.ok !== true)?.errorMessage ?? 'the append returned no result for some records' };
          }
          moved ||= accepted.length > 0;
          return accepted;
        });
      } catch (err) {
        // Halted because the database closed: the rows stay pending and are appended again (and dropped as
        // repeats by the stream) after reopening.
        if (signal.aborted) return moved;
        throw err;
      }
      if (failure) {
        this.#failed(route, failure.messages, failure.error);
        return moved;
      }
      if (signal.aborted) return moved;
      if (taken > 0) logger.debug('mirrored messages to a stream', { topic: route.topic, stream: route.stream, messages: taken });
    }
    this.#failures = 0;
    this.#retryAt = 0;
    return moved;
  }

  #record(route: ResolvedRoute, topic: TopicDescription | undefined, row: PendingRow): MirrorRecord {
    const message = JSON.parse(row.message) as Record<string, unknown>;
    const customerId = topic?.kind === 'inbox' && topic.customerField ? message[topic.customerField] : undefined;
    return {
      data: encoder.encode(JSON.stringify({ ...message, [route.keyField]: row.idempotency_key })),
      partitionKey: typeof customerId === 'string' && customerId !== '' ? customerId : row.idempotency_key,
      idempotencyKey: row.idempotency_key,
    };
  }

  #failed(route: ResolvedRoute, messages: number, error: string): void {
    const { retry, random, now, logger } = this.#deps;
    this.#failures += 1;
    // At least a millisecond, so a failing stream never turns the dispatcher into a busy loop.
    const delay = Math.max(1, backoffDelayMs(this.#failures, retry.baseDelayMs, retry.maxDelayMs, random));
    this.#retryAt = now() + delay;
    logger.warn('appending mirrored messages to their stream failed; will retry', {
      topic: route.topic,
      stream: route.stream,
      messages,
      failures: this.#failures,
      retryInMs: delay,
      error,
    });
  }
}
