/**
 * Watermarks at a source: bounded out-of-orderness per input partition (shard), merged as the minimum over
 * partitions. A partition that has been silent for `idleTimeout` stops holding the watermark back. Time for
 * idleness is the source's own event-time progress (the largest event time seen), which keeps file runs
 * deterministic.
 */
import type { Row } from '../expr/types.ts';

interface PartitionState {
  maxTime: number;
  lastSeenAt: number;
}

export class WatermarkGenerator {
  private readonly partitions = new Map<string, PartitionState>();
  private clock = Number.NEGATIVE_INFINITY;
  private emitted = Number.NEGATIVE_INFINITY;

  constructor(
    readonly timeIndex: number,
    readonly delay: number,
    readonly idleTimeout: number,
  ) {}

  observe(row: Row, partition: string): void {
    const t = row[this.timeIndex];
    if (typeof t !== 'number') return;
    if (t > this.clock) this.clock = t;
    const p = this.partitions.get(partition);
    if (!p) this.partitions.set(partition, { maxTime: t, lastSeenAt: this.clock });
    else {
      if (t > p.maxTime) p.maxTime = t;
      p.lastSeenAt = this.clock;
    }
  }

  /** The new watermark if it advanced, else null. */
  advance(): number | null {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const p of this.partitions.values()) {
      if (p.maxTime > max) max = p.maxTime;
      if (this.clock - p.lastSeenAt > this.idleTimeout) continue;
      if (p.maxTime < min) min = p.maxTime;
    }
    const base = min === Number.POSITIVE_INFINITY ? max : min;
    if (base === Number.NEGATIVE_INFINITY) return null;
    const wm = base - this.delay;
    if (wm <= this.emitted) return null;
    this.emitted = wm;
    return wm;
  }

  snapshot(): unknown {
    return { emitted: this.emitted, partitions: Object.fromEntries(this.partitions) };
  }
}
