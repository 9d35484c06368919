/**
 * A small seeded pseudo-random generator (mulberry32), so that a benchmark or a crash test run can be
 * repeated exactly from the seed it prints.
 */
export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}

/** A seed from the environment variable `name` when set (to replay a run), else a fresh one. */
export function seedFromEnv(name: string): number {
  const fromEnv = process.env[name];
  if (fromEnv !== undefined && fromEnv !== '') {
    const parsed = Number(fromEnv);
    if (!Number.isInteger(parsed)) throw new RangeError(`${name} must be an integer, got '${fromEnv}'`);
    return parsed >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}
