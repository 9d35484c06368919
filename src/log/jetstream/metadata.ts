/**
 * The metadata of the log's streams (shards, hash ranges, lineage, retention, dedupe), kept in one replicated
 * JetStream stream with one subject per stream and only its last message kept: the way a NATS KV bucket is
 * built, without the KV client. Every change is a compare-and-set on the subject's last sequence (its
 * revision), so two nodes changing the same stream at once cannot both win; the loser reads again and retries.
 * A deleted stream leaves an empty message (a tombstone) so that a later create can still compare-and-set.
 * The same stream keeps secrets the cluster's processes share (`sharedSecret`), on subjects of their own.
 */
import { randomBytes } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { DescribedMeta } from '../description.ts';
import type { HashKeyRange } from '../types.ts';
import { withFailoverRetry } from './messages.ts';
import type { Names } from './names.ts';

export interface JsShardMeta {
  readonly shardId: string;
  readonly index: number;
  readonly hashKeyRange: HashKeyRange;
  readonly parentShardIds: readonly string[];
  /** Set when a reshard took the shard out of routing; its end marker may not be written yet. */
  readonly closing?: true;
  /** Set once the shard is closed: the position of its last record (0 when it has none). */
  readonly endPosition?: number;
}

export interface JsStreamMeta extends DescribedMeta {
  readonly version: 1;
  readonly nextShardIndex: number;
  readonly shards: readonly JsShardMeta[];
}

export interface VersionedMeta {
  /** Undefined when the stream does not exist (never created, or deleted). */
  readonly meta: JsStreamMeta | undefined;
  /** The sequence of the subject's last message, 0 if none: what the next change compares against. */
  readonly revision: number;
}

/** JetStream's error for a failed expected-last-sequence check. */
export const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NAME_IN_USE = 10058;

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

export class MetaStore {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly names: Names,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  /** Creates the metadata stream unless it exists. */
  async init(): Promise<void> {
    try {
      await this.jsm.streams.add({
        name: this.names.metaStream,
        subjects: [this.names.metaSubjects, this.names.secretSubjects],
        num_replicas: this.replicas,
        max_msgs_per_subject: 1,
        allow_rollup_hdrs: false,
        deny_delete: true,
      });
    } catch (err) {
      if (!isApiError(err, STREAM_NAME_IN_USE)) throw err;
    }
  }

  async get(name: string): Promise<VersionedMeta> {
    // The metadata stream elects a leader too when a server dies: a read meanwhile waits for it, like a shard's.
    const m = await withFailoverRetry(() => this.jsm.streams.getMessage(this.names.metaStream, { last_by_subj: this.names.metaSubject(name) }));
    if (!m) return { meta: undefined, revision: 0 };
    return { meta: m.data.length === 0 ? undefined : (JSON.parse(new TextDecoder().decode(m.data)) as JsStreamMeta), revision: m.seq };
  }

  /** Writes `meta` if the stream's revision is still `revision`; false if someone changed it first. */
  async put(name: string, meta: JsStreamMeta | undefined, revision: number): Promise<boolean> {
    const data = meta ? new TextEncoder().encode(JSON.stringify(meta)) : new Uint8Array(0);
    try {
      await this.js.publish(this.names.metaSubject(name), data, { expect: { lastSubjectSequence: revision }, timeout: this.timeoutMs });
      return true;
    } catch (err) {
      if (isApiError(err, WRONG_LAST_SEQUENCE)) return false;
      throw err;
    }
  }

  /** 32 random bytes under `name`, made by the first process to ask and the same for every process after. */
  async sharedSecret(name: string): Promise<Buffer> {
    const subject = this.names.secretSubject(name);
    for (;;) {
      const m = await this.jsm.streams.getMessage(this.names.metaStream, { last_by_subj: subject });
      if (m) return Buffer.from(m.data);
      try {
        await this.js.publish(subject, randomBytes(32), { expect: { lastSubjectSequence: 0 }, timeout: this.timeoutMs });
      } catch (err) {
        if (!isApiError(err, WRONG_LAST_SEQUENCE)) throw err;
      }
    }
  }

  /** Every existing stream's metadata, by name. */
  async list(): Promise<JsStreamMeta[]> {
    const info = await this.jsm.streams.info(this.names.metaStream, { subjects_filter: this.names.metaSubjects });
    const subjects = Object.keys(info.state.subjects ?? {});
    const out: JsStreamMeta[] = [];
    for (const subject of subjects) {
      const { meta } = await this.get(this.names.streamOfMetaSubject(subject));
      if (meta) out.push(meta);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
