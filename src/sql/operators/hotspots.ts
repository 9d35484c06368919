/**
 * Kinesis Analytics' HOTSPOTS: over the last `windowSize` points of the stream, the regions much denser than
 * the rest. A point with at least `minimumPoints` points (itself included) within `scanRadius` of it
 * (Euclidean distance) is a core point; core points within the radius of each other are one hotspot, with
 * the other points within the radius of its core points (DBSCAN, whose epsilon the scan radius is). A hotspot
 * is given by its bounding box and its density: its share of the window's points over its share of the
 * window's bounding box (each side counted at least as long as the scan radius), so 1 is as dense as the
 * window on average.
 *
 * The window's points keep their neighbours within the radius, updated as a point comes and the oldest goes,
 * so a row costs one pass over the window plus the walk over the neighbours of core points. Nothing is random:
 * a restore that takes back the window's points gives the same results.
 */
export interface HotspotsOptions {
  readonly windowSize: number;
  readonly scanRadius: number;
  readonly minimumPoints: number;
}

export interface Hotspot {
  readonly density: number;
  readonly minValues: readonly number[];
  readonly maxValues: readonly number[];
}

interface WindowPoint {
  readonly values: readonly number[];
  readonly neighbours: Set<WindowPoint>;
}

export class HotspotDetector {
  /** Oldest first. */
  private window: WindowPoint[] = [];
  private readonly radius2: number;

  constructor(private readonly options: HotspotsOptions) {
    this.radius2 = options.scanRadius * options.scanRadius;
  }

  add(values: readonly number[]): void {
    if (this.window.length === this.options.windowSize) {
      const gone = this.window.shift()!;
      for (const n of gone.neighbours) n.neighbours.delete(gone);
    }
    const point: WindowPoint = { values, neighbours: new Set() };
    for (const other of this.window) {
      let d2 = 0;
      for (let i = 0; i < values.length && d2 <= this.radius2; i++) {
        const diff = values[i]! - other.values[i]!;
        d2 += diff * diff;
      }
      if (d2 <= this.radius2) {
        point.neighbours.add(other);
        other.neighbours.add(point);
      }
    }
    this.window.push(point);
  }

  /** The hotspots of the window now, densest first. */
  hotspots(): Hotspot[] {
    const core = (p: WindowPoint) => p.neighbours.size + 1 >= this.options.minimumPoints;
    const taken = new Set<WindowPoint>();
    const found: WindowPoint[][] = [];
    for (const start of this.window) {
      if (taken.has(start) || !core(start)) continue;
      const members: WindowPoint[] = [start];
      taken.add(start);
      for (let i = 0; i < members.length; i++) {
        const p = members[i]!;
        if (!core(p)) continue;
        for (const n of p.neighbours) {
          if (taken.has(n)) continue;
          taken.add(n);
          members.push(n);
        }
      }
      found.push(members);
    }
    if (found.length === 0) return [];
    const dims = this.window[0]!.values.length;
    const windowBox = box(this.window, dims);
    const side = (lo: number, hi: number) => Math.max(hi - lo, this.options.scanRadius);
    const result = found.map((members) => {
      const b = box(members, dims);
      let share = 1;
      for (let d = 0; d < dims; d++) share *= side(b.min[d]!, b.max[d]!) / side(windowBox.min[d]!, windowBox.max[d]!);
      return { density: members.length / this.window.length / share, minValues: b.min, maxValues: b.max };
    });
    return result.sort((a, b) => b.density - a.density);
  }

  snapshot(): number[][] {
    return this.window.map((p) => [...p.values]);
  }

  restore(points: readonly (readonly number[])[]): void {
    this.window = [];
    for (const p of points) this.add([...p]);
  }
}

function box(points: readonly WindowPoint[], dims: number): { min: number[]; max: number[] } {
  const min = new Array<number>(dims).fill(Number.POSITIVE_INFINITY);
  const max = new Array<number>(dims).fill(Number.NEGATIVE_INFINITY);
  for (const p of points) {
    for (let d = 0; d < dims; d++) {
      if (p.values[d]! < min[d]!) min[d] = p.values[d]!;
      if (p.values[d]! > max[d]!) max[d] = p.values[d]!;
    }
  }
  return { min, max };
}
