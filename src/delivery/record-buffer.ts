/**
 * The records a delivery has read and not yet taken into a batch, in the order read, with their total size,
 * the oldest arrival time among them and when the oldest of them was added (for the interval hint).
 */
import type { StoredRecord } from '../log/types.ts';
import { deaggregate, isKplAggregate } from '../log/index.ts';
import type { BufferedRecord } from './convert.ts';

export class RecordBuffer {
  private records: BufferedRecord[] = [];
  /** Bytes of record data buffered. */
  bytes = 0;
  /** The smallest arrival time among the buffered records (Infinity when empty). */
  oldestArrival = Infinity;
  /** When the records now buffered started waiting, in ms since the epoch; undefined when empty. */
  since: number | undefined;

  get length(): number {
    return this.records.length;
  }

  /** Adds one read of a shard; a KPL aggregate becomes its user records, next to each other (`take` never splits them). */
  add(shardId: string, read: readonly StoredRecord[], generation: number, now: number): void {
    if (this.since === undefined) this.since = now;
    for (const record of read) {
      if (isKplAggregate(record.data)) {
        // Its user records in order, or the aggregate itself marked malformed, which becomes an error record.
        const expanded = deaggregate(record);
        if (expanded.ok) for (const user of expanded.records) this.records.push({ shardId, record: user, generation });
        else this.records.push({ shardId, record, malformed: expanded.reason, generation });
      } else this.records.push({ shardId, record, generation });
      this.bytes += record.data.length;
      if (record.arrivalTime < this.oldestArrival) this.oldestArrival = record.arrivalTime;
    }
  }

  /**
   * Takes the oldest records, at most `max` (more only to finish a KPL aggregate: a position is a Kinesis
   * sequence number, so a batch ends after the last user record of an aggregate).
   */
  take(max: number): BufferedRecord[] {
    let cut = Math.min(this.records.length, max);
    while (cut < this.records.length && sameKinesisRecord(this.records[cut]!, this.records[cut - 1]!)) cut++;
    const taken = cut === this.records.length ? this.records : this.records.slice(0, cut);
    this.records = cut === this.records.length ? [] : this.records.slice(cut);
    // What stays has waited as long as the batch taken: it is due at once.
    this.recount();
    return taken;
  }

  /** Drops every buffered record of `shardId`. */
  drop(shardId: string): void {
    if (!this.records.some((b) => b.shardId === shardId)) return;
    this.records = this.records.filter((b) => b.shardId !== shardId);
    this.recount();
  }

  private recount(): void {
    this.bytes = 0;
    this.oldestArrival = Infinity;
    for (const { record } of this.records) {
      this.bytes += record.data.length;
      if (record.arrivalTime < this.oldestArrival) this.oldestArrival = record.arrivalTime;
    }
    if (this.records.length === 0) this.since = undefined;
  }
}

function sameKinesisRecord(a: BufferedRecord, b: BufferedRecord): boolean {
  return a.shardId === b.shardId && a.record.sequenceNumber === b.record.sequenceNumber;
}
