/**
 * Kinesis Analytics' HOTSPOTS: over the last `windowSize` points of the stream, the regions much denser than
 * the rest. A point with at least `minimumPoints` points (itself included) within `scanRadius` of it
 * (Euclidean distance) is a core point; core points within the radius of each other are one hotspot, with
 * the other points within the radius of its core points (DBSCAN, whose epsilon the scan radius is; a point
 * within reach of two hotspots goes to the one met first). A hotspot is given by its bounding box and its
 * density: its share of the window's points over its share of the window's bounding box (each side counted
 * at least as long as the scan radius), so 1 is as dense as the window on average.
 *
 * Each point of the window keeps its count of neighbours within the radius, updated as a point comes and the
 * oldest goes (one pass over the window each). The hotspots are then found on a grid of cells whose diagonal
 * is the radius: the core points of one cell are all neighbours, so only cells need joining, and a pair of
 * cells too far apart is skipped without looking at its points. Nothing is random, and the order of the work
 * follows the window's order: a restore that takes back the window's points gives the same results.
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
  /** Other points of the window within the radius. */
  neighbours: number;
}

interface Cell {
  /** The cell's index along each dimension. */
  readonly at: readonly number[];
  /** Its core points. */
  readonly points: WindowPoint[];
  /** Union-find parent (a cell index); the root's members are one hotspot. */
  parent: number;
}

export class HotspotDetector {
  /** Oldest first. */
  private window: WindowPoint[] = [];
  private readonly radius2: number;

  constructor(private readonly options: HotspotsOptions) {
    this.radius2 = options.scanRadius * options.scanRadius;
  }

  private near(a: readonly number[], b: readonly number[]): boolean {
    let d2 = 0;
    for (let i = 0; i < a.length; i++) {
      const diff = a[i]! - b[i]!;
      d2 += diff * diff;
      if (d2 > this.radius2) return false;
    }
    return true;
  }

  add(values: readonly number[]): void {
    if (this.window.length === this.options.windowSize) {
      const gone = this.window.shift()!;
      for (const p of this.window) if (this.near(p.values, gone.values)) p.neighbours--;
    }
    const point: WindowPoint = { values, neighbours: 0 };
    for (const other of this.window) {
      if (this.near(values, other.values)) {
        point.neighbours++;
        other.neighbours++;
      }
    }
    this.window.push(point);
  }

  /** The hotspots of the window now, densest first. */
  hotspots(): Hotspot[] {
    const minimum = this.options.minimumPoints - 1;
    if (!this.window.some((p) => p.neighbours >= minimum)) return [];
    const dims = this.window[0]!.values.length;
    const side = this.options.scanRadius / Math.sqrt(dims);
    const cells: Cell[] = [];
    const byKey = new Map<string, number>();
    const cellOf = new Map<WindowPoint, number>();
    for (const p of this.window) {
      if (p.neighbours < minimum) continue;
      const at = p.values.map((v) => Math.floor(v / side));
      const key = at.join(',');
      let c = byKey.get(key);
      if (c === undefined) {
        c = cells.length;
        byKey.set(key, c);
        cells.push({ at, points: [], parent: c });
      }
      cells[c]!.points.push(p);
      cellOf.set(p, c);
    }
    const root = (c: number): number => {
      while (cells[c]!.parent !== c) c = cells[c]!.parent = cells[cells[c]!.parent]!.parent;
      return c;
    };
    // Cells farther apart than the radius along the grid cannot hold neighbours.
    const reachable = (a: Cell, b: Cell): boolean => {
      let gap2 = 0;
      for (let d = 0; d < dims; d++) {
        const gap = Math.max(0, Math.abs(a.at[d]! - b.at[d]!) - 1) * side;
        gap2 += gap * gap;
      }
      return gap2 <= this.radius2;
    };
    for (let i = 0; i < cells.length; i++) {
      for (let j = i + 1; j < cells.length; j++) {
        const a = cells[i]!;
        const b = cells[j]!;
        if (root(i) === root(j) || !reachable(a, b)) continue;
        if (a.points.some((p) => b.points.some((q) => this.near(p.values, q.values)))) cells[root(j)]!.parent = root(i);
      }
    }
    const members = new Map<number, WindowPoint[]>();
    const join = (c: number, p: WindowPoint) => {
      const r = root(c);
      const list = members.get(r);
      if (list) list.push(p);
      else members.set(r, [p]);
    };
    for (const p of this.window) {
      const own = cellOf.get(p);
      if (own !== undefined) {
        join(own, p);
        continue;
      }
      // A border point: in the hotspot of the first core point within its reach.
      const at = p.values.map((v) => Math.floor(v / side));
      const probe = { at, points: [], parent: -1 };
      const c = cells.findIndex((cell) => reachable(probe, cell) && cell.points.some((q) => this.near(p.values, q.values)));
      if (c >= 0) join(c, p);
    }
    const windowBox = box(this.window, dims);
    const span = (lo: number, hi: number) => Math.max(hi - lo, this.options.scanRadius);
    const result: Hotspot[] = [];
    for (const list of members.values()) {
      const b = box(list, dims);
      let share = 1;
      for (let d = 0; d < dims; d++) share *= span(b.min[d]!, b.max[d]!) / span(windowBox.min[d]!, windowBox.max[d]!);
      result.push({ density: list.length / this.window.length / share, minValues: b.min, maxValues: b.max });
    }
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
