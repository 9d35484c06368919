/**
 * Watermarks at a source: bounded out-of-orderness per input partition (shard), merged as the minimum over
 * partitions. A partition that has been silent for `idleTimeout` stops holding the watermark back. Time for
 * idleness is the source's own event-time progress (the largest event time seen), which keeps file runs
 * deterministic.
 *
 * The watermark is tracked row by row, so whether a row is late does not depend on batch boundaries: a row
 * older than the watermark minus the allowed lateness is late and never reaches the operators.
 */
import type { Row } from '../expr/types.ts';
import { restoredTime } from '../runtime/operator.ts';

interface PartitionState {
  maxTime: number;
  lastSeenAt: number;
}

export class WatermarkGenerator {
  private readonly partitions = new Map<string, PartitionState>();
  private clock = Number.NEGATIVE_INFINITY;
  private current = Number.NEGATIVE_INFINITY;
  private emitted = Number.NEGATIVE_INFINITY;
  /** Processing time (ms) for idleness in live mode; null: idleness follows event time. */
  private processingNow: number | null = null;

  constructor(
    readonly timeIndex: number,
    readonly delay: number,
    readonly idleTimeout: number,
    readonly allowedLateness: number,
  ) {}

  /**
   * Switches idleness to processing time and sets that clock (ms); called by a live source before each
   * batch and on ticks. Partitions found idle stop holding the watermark back at once.
   */
  setProcessingTime(now: number): void {
    this.processingNow = now;
    this.recompute();
  }

  get watermark(): number {
    return this.current;
  }

  /**
   * A live source announces a shard before its first record: until the shard delivers (or goes idle) it
   * holds the watermark back, so another shard read first cannot make its records late.
   */
  openPartition(partition: string): void {
    if (this.partitions.has(partition)) return;
    this.partitions.set(partition, { maxTime: Number.NEGATIVE_INFINITY, lastSeenAt: this.processingNow ?? this.clock });
  }

  /** A shard read to its end (a reshard parent) no longer holds the watermark back. */
  closePartition(partition: string): void {
    if (this.partitions.delete(partition)) this.recompute();
  }

  /** Takes the row into account; false when it is late (older than watermark - allowed lateness). */
  accept(row: Row, partition: string): boolean {
    const t = row[this.timeIndex];
    if (typeof t !== 'number') return true;
    if (t < this.current - this.allowedLateness) return false;
    if (t > this.clock) this.clock = t;
    const seenAt = this.processingNow ?? this.clock;
    const p = this.partitions.get(partition);
    if (!p) this.partitions.set(partition, { maxTime: t, lastSeenAt: seenAt });
    else {
      if (t > p.maxTime) p.maxTime = t;
      p.lastSeenAt = seenAt;
    }
    this.recompute();
    return true;
  }

  private recompute(): void {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    const now = this.processingNow ?? this.clock;
    for (const p of this.partitions.values()) {
      if (p.maxTime > max) max = p.maxTime;
      if (now - p.lastSeenAt > this.idleTimeout) continue;
      if (p.maxTime < min) min = p.maxTime;
    }
    const base = min === Number.POSITIVE_INFINITY ? max : min;
    const wm = base - this.delay;
    if (wm > this.current) this.current = wm;
  }

  /** The watermark to send downstream if it advanced since the last call, else null. */
  advance(): number | null {
    if (this.current <= this.emitted) return null;
    this.emitted = this.current;
    return this.current;
  }

  snapshot(): unknown {
    const partitions: Record<string, PartitionState> = {};
    for (const [k, p] of this.partitions) partitions[k] = { ...p };
    return { watermark: this.current, emitted: this.emitted, clock: this.clock, partitions };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as { watermark: unknown; emitted: unknown; clock: unknown; partitions: Record<string, PartitionState> };
    this.current = restoredTime(s.watermark);
    this.emitted = restoredTime(s.emitted);
    this.clock = restoredTime(s.clock);
    // In processing time, a partition's last sighting before the restart says nothing about now: count it as just seen.
    for (const [k, p] of Object.entries(s.partitions)) this.partitions.set(k, { ...p, lastSeenAt: this.processingNow ?? p.lastSeenAt });
  }
}
