/**
 * Where a stream of the log lives in JetStream. Every name starts with the log's prefix, so several logs
 * (a test's, a staging system's) can share one cluster. Stream names may hold `.`, which separates subject
 * tokens and is not allowed in JetStream stream names; it is written as `~`, which a stream name never holds.
 */

export class Names {
  constructor(readonly prefix: string) {}

  private token(stream: string): string {
    return stream.replaceAll('.', '~');
  }

  /** The JetStream stream holding one shard. */
  shardStream(stream: string, shardIndex: number): string {
    return `${this.prefix}_${this.token(stream)}_${shardIndex}`;
  }

  /** The subject a shard's messages are published to. */
  shardSubject(stream: string, shardIndex: number): string {
    return `${this.prefix}.log.${this.token(stream)}.${shardIndex}`;
  }

  /** The JetStream stream holding every stream's metadata, one subject per stream. */
  get metaStream(): string {
    return `${this.prefix}_meta`;
  }

  metaSubject(stream: string): string {
    return `${this.prefix}.meta.${this.token(stream)}`;
  }

  get metaSubjects(): string {
    return `${this.prefix}.meta.*`;
  }

  streamOfMetaSubject(subject: string): string {
    return subject.slice(this.prefix.length + 6).replaceAll('~', '.');
  }

  /** Where a secret shared by the cluster's processes is kept (in the metadata stream). */
  secretSubject(name: string): string {
    return `${this.prefix}.secret.${name}`;
  }

  get secretSubjects(): string {
    return `${this.prefix}.secret.*`;
  }

  /** Core NATS subject told, after a publish ack, that a shard has new records (payload: the message sequence). */
  wakeSubject(stream: string, shardIndex: number): string {
    return `${this.prefix}.wake.${this.token(stream)}.${shardIndex}`;
  }

  get wakeSubjects(): string {
    return `${this.prefix}.wake.>`;
  }

  /** Parses a wake subject into its stream and shard index. */
  parseWake(subject: string): { stream: string; shardIndex: number } | undefined {
    const rest = subject.slice(this.prefix.length + 6);
    const dot = rest.lastIndexOf('.');
    if (dot < 0) return undefined;
    return { stream: rest.slice(0, dot).replaceAll('~', '.'), shardIndex: Number(rest.slice(dot + 1)) };
  }

  /** Core NATS subject told that a stream's metadata changed (created, resharded, retention, deleted). */
  changedSubject(stream: string): string {
    return `${this.prefix}.changed.${this.token(stream)}`;
  }

  get changedSubjects(): string {
    return `${this.prefix}.changed.*`;
  }

  streamOfChanged(subject: string): string {
    return subject.slice(this.prefix.length + 9).replaceAll('~', '.');
  }
}
