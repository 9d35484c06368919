/**
 * RANDOM_CUT_FOREST, RANDOM_CUT_FOREST_WITH_EXPLANATION and HOTSPOTS as a user sees them: anomalies injected
 * into a periodic signal score above every ordinary row, the explanation names the column that is off and its
 * direction, dense regions are found where they were put and nowhere in uniform noise, and a run gives the
 * same numbers at any batch size.
 */
import { describe, expect, it } from 'vitest';
import { planLiveQuery, runQuery } from '../../src/sql/index.ts';
import { Random } from '../../src/core/random.ts';
import { mergeState, restorableState } from '../../src/sql/runtime/keyed-state.ts';

async function* rowsOf(records: Record<string, unknown>[]): AsyncIterable<Record<string, unknown>> {
  yield* records;
}

const at = (i: number) => new Date(Date.UTC(2026, 2, 2, 8, 0, i)).toISOString();

/** A heart rate around 70 with a 24-row period; at the given rows the value is far off. */
function heartRates(n: number, spikes: ReadonlyMap<number, number>): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    heartRate: spikes.get(i) ?? Math.round(70 + 10 * Math.sin((2 * Math.PI * i) / 24) + (((i * 37) % 7) - 3) / 2),
    temperature: 36.5 + ((i * 13) % 5) / 10,
    patient: `p${i % 3}`,
    _arrival_time: at(i),
  }));
}

async function scores(sql: string, records: Record<string, unknown>[], batchSize = 512): Promise<Record<string, unknown>[]> {
  const result = await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: rowsOf(records) }, batchSize, now: () => 0 });
  return result.streams['DESTINATION_SQL_STREAM']!;
}

/**
 * Runs the query once taking a checkpoint every `every` records; then, for each checkpoint, a new run restored
 * from it (its state written out as JSON and read back). Gives the uninterrupted rows and, per checkpoint, the
 * rows delivered before it followed by the restored run's rows.
 */
async function cutAndRestored(sql: string, records: Record<string, unknown>[], every: number): Promise<{ whole: unknown[]; pieced: unknown[][] }> {
  const delivered: unknown[] = [];
  const states = new Map<number, Record<string, unknown>>();
  const cuts = new Map<number, number>();
  const whole = (
    await runQuery({
      sql,
      inputs: { SOURCE_SQL_STREAM_001: rowsOf(records) },
      batchSize: 7,
      now: () => 0,
      checkpointEveryRows: every,
      onRow: (stream, row) => {
        if (stream === 'DESTINATION_SQL_STREAM') delivered.push(row);
      },
      onSnapshot: (task, id, state) => {
        states.set(id, { ...states.get(id), [task]: JSON.parse(JSON.stringify(state)) as unknown });
        if (task === 'sink:DESTINATION_SQL_STREAM') cuts.set(id, delivered.length);
      },
    })
  ).streams['DESTINATION_SQL_STREAM']!;
  const pieced: unknown[][] = [];
  let merged: Record<string, unknown> = {};
  for (const [id, byTask] of [...states].sort(([a], [b]) => a - b)) {
    merged = Object.fromEntries(Object.entries(byTask).map(([task, state]) => [task, mergeState(merged[task], state)]));
    const restoreFrom = Object.fromEntries(Object.entries(merged).map(([task, state]) => [task, restorableState(state)]));
    const after = (await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: rowsOf(records) }, batchSize: 7, now: () => 0, restoreFrom })).streams['DESTINATION_SQL_STREAM'] ?? [];
    pieced.push([...delivered.slice(0, cuts.get(id)), ...after]);
  }
  return { whole, pieced };
}

const FOREST = `
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "temperature" DOUBLE, "patient" VARCHAR(4), "ANOMALY_SCORE" DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "heartRate", "temperature", "patient", ANOMALY_SCORE
  FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 50, 64, 1000, 1));`;

describe('RANDOM_CUT_FOREST', () => {
  const spikes = new Map([
    [150, 190],
    [200, 30],
    [260, 175],
  ]);

  it('scores the injected anomalies of a periodic signal above every other row, and 0 until the sample is full', async () => {
    const out = await scores(FOREST, heartRates(300, spikes));
    expect(out).toHaveLength(300);
    const score = out.map((r) => r['ANOMALY_SCORE'] as number);
    expect(score.slice(0, 64).every((s) => s === 0)).toBe(true);
    expect(score.slice(64).every((s) => s > 0)).toBe(true);
    const ordinary = score.filter((_, i) => i >= 64 && !spikes.has(i));
    const lowestSpike = Math.min(...[...spikes.keys()].map((i) => score[i]!));
    const mean = ordinary.reduce((a, b) => a + b, 0) / ordinary.length;
    expect(lowestSpike).toBeGreaterThan(1.5 * Math.max(...ordinary));
    expect(lowestSpike).toBeGreaterThan(2.5 * mean);
    // The rows pass through unchanged, the text column unread.
    expect(out[150]).toMatchObject({ heartRate: 190, patient: 'p0' });
  });

  it('gives the same scores at any batch size and on every run', async () => {
    const records = heartRates(200, spikes);
    const a = await scores(FOREST, records, 2);
    const b = await scores(FOREST, records, 512);
    expect(a).toEqual(b);
  });

  it('a run stopped and restored from any of its checkpoints writes the same scores as an uninterrupted run', async () => {
    const { whole, pieced } = await cutAndRestored(FOREST, heartRates(240, spikes), 40);
    expect(pieced.length).toBeGreaterThanOrEqual(4);
    expect(whole.filter((r) => (r as { ANOMALY_SCORE: number }).ANOMALY_SCORE > 0).length).toBeGreaterThan(100);
    for (const rows of pieced) expect(rows).toEqual(whole);
  });

  it('learns from the numeric columns only: a text column changing alone changes no score', async () => {
    const records = heartRates(150, spikes);
    const renamed = records.map((r, i) => ({ ...r, patient: `q${(i * 7) % 5}` }));
    const a = (await scores(FOREST, records)).map((r) => r['ANOMALY_SCORE']);
    const b = (await scores(FOREST, renamed)).map((r) => r['ANOMALY_SCORE']);
    expect(b).toEqual(a);
  });

  it('a row with a NULL number gets a NULL score and is not learned from', async () => {
    const records = heartRates(120, new Map());
    records[100] = { ...records[100], heartRate: null };
    const out = await scores(FOREST, records);
    expect(out[100]!['ANOMALY_SCORE']).toBeNull();
    const without = await scores(FOREST, records.filter((_, i) => i !== 100));
    expect(out.filter((_, i) => i !== 100).map((r) => r['ANOMALY_SCORE'])).toEqual(without.map((r) => r['ANOMALY_SCORE']));
  });

  it('with a shingle, a break of the period scores high though every value is an ordinary one', async () => {
    // Two rows swapped: each value is common, the sequence is not.
    const records = heartRates(300, new Map());
    const [x, y] = [records[250]!['heartRate'], records[256]!['heartRate']];
    records[250] = { ...records[250], heartRate: y };
    records[256] = { ...records[256], heartRate: x };
    const sql = FOREST.replace('50, 64, 1000, 1)', '50, 64, 1000, 4)').replace('SELECT STREAM * FROM', 'SELECT STREAM "heartRate" FROM').replace('"heartRate", "temperature", "patient", ANOMALY_SCORE', '"heartRate", 0.0, \'\', ANOMALY_SCORE');
    const score = (await scores(sql, records)).map((r) => r['ANOMALY_SCORE'] as number);
    const top = score.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 2).map(([, i]) => i);
    expect(top.some((i) => i >= 250 && i < 260)).toBe(true);
  });
});

describe('RANDOM_CUT_FOREST_WITH_EXPLANATION', () => {
  it('attributes an anomaly to the column that is off, with its direction', async () => {
    const records = heartRates(300, new Map());
    records[220] = { ...records[220], temperature: 41.5 };
    records[260] = { ...records[260], heartRate: 20 };
    const sql = `
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "temperature" DOUBLE, "ANOMALY_SCORE" DOUBLE, "ANOMALY_EXPLANATION" VARCHAR(512));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "heartRate", "temperature", ANOMALY_SCORE, ANOMALY_EXPLANATION
  FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(SELECT STREAM "heartRate", "temperature" FROM "SOURCE_SQL_STREAM_001"), 50, 64, 1000, 1, true));`;
    const out = await scores(sql, records);
    // The service's layout, as the Developer Guide shows it: numbers as text with four decimals.
    type Part = { DIRECTION: string; STRENGTH: string; ATTRIBUTION_SCORE: string };
    const text = (i: number) => out[i]!['ANOMALY_EXPLANATION'] as string;
    expect(text(220)).toMatch(/^\{"heartRate":\{"DIRECTION":"(HIGH|LOW)","STRENGTH":"\d+\.\d{4}","ATTRIBUTION_SCORE":"\d+\.\d{4}"\},"temperature":\{/);
    const explained = (i: number) => JSON.parse(text(i)) as Record<string, Part>;
    const attribution = (p: Part | undefined) => Number(p!.ATTRIBUTION_SCORE);
    expect(explained(10)).toEqual({});
    const hot = explained(220);
    expect(hot['temperature']!.DIRECTION).toBe('HIGH');
    expect(attribution(hot['temperature'])).toBeGreaterThan(3 * attribution(hot['heartRate']));
    const slow = explained(260);
    expect(slow['heartRate']!.DIRECTION).toBe('LOW');
    expect(attribution(slow['heartRate'])).toBeGreaterThan(3 * attribution(slow['temperature']));
    // The parts add up to the score (to the four decimals written).
    for (const i of [150, 220, 260]) {
      const parts = Object.values(explained(i)).reduce((s, p) => s + attribution(p), 0);
      expect(Math.abs(parts - (out[i]!['ANOMALY_SCORE'] as number))).toBeLessThanOrEqual(0.0001);
    }
  });
});

/** Points of the plane: uniform noise over [0, 10]², and every `every`-th point near one of the centres. */
function plane(n: number, centres: readonly (readonly [number, number])[], every: number): Record<string, unknown>[] {
  let seed = 12345;
  const uniform = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  return Array.from({ length: n }, (_, i) => {
    const c = centres.length > 0 && i % every === 0 ? centres[(i / every) % centres.length]! : null;
    const [x, y] = c ? [c[0] + (uniform() - 0.5) * 0.3, c[1] + (uniform() - 0.5) * 0.3] : [uniform() * 10, uniform() * 10];
    return { x, y, label: c ? 'dense' : 'noise', _arrival_time: at(i) };
  });
}

const HOTSPOTS = `
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("x" DOUBLE, "y" DOUBLE, "HOTSPOTS_RESULT" VARCHAR(10000));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "x", "y", "HOTSPOTS_RESULT"
  FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM "x", "y" FROM "SOURCE_SQL_STREAM_001"), 1000, 0.2, 17));`;

type Spot = { density: number; minValues: number[]; maxValues: number[] };
const spotsOf = (row: Record<string, unknown>) => (JSON.parse(row['HOTSPOTS_RESULT'] as string) as { hotspots: Spot[] }).hotspots;
const holds = (s: Spot, [x, y]: readonly [number, number]) => s.minValues[0]! <= x && x <= s.maxValues[0]! && s.minValues[1]! <= y && y <= s.maxValues[1]!;

describe('HOTSPOTS', () => {
  const centres = [
    [2, 2],
    [7, 8],
  ] as const;

  it('finds the dense regions where they were put, densest first, and none in uniform noise', async () => {
    const out = await scores(HOTSPOTS, plane(1500, centres, 5));
    expect(out).toHaveLength(1500);
    const last = spotsOf(out.at(-1)!);
    expect(last).toHaveLength(2);
    for (const c of centres) expect(last.filter((s) => holds(s, c))).toHaveLength(1);
    for (const s of last) {
      expect(s.maxValues[0]! - s.minValues[0]!).toBeLessThan(0.6);
      // A tenth of the window in under a four-hundredth of its area: dozens of times the average density.
      expect(s.density).toBeGreaterThan(20);
    }
    expect(last[0]!.density).toBeGreaterThanOrEqual(last[1]!.density);
    // Early on, before 17 points have come near a centre, there is none.
    expect(spotsOf(out[20]!)).toEqual([]);

    const noise = await scores(HOTSPOTS, plane(1500, [], 5));
    expect(noise.every((r) => spotsOf(r).length === 0)).toBe(true);
  });

  it("follows the hotspot of the Developer Guide's generator as it moves: a 1 by 1 square that takes a fifth of the points", async () => {
    const random = new Random(7);
    const squares: [number, number][] = [];
    const rows = Array.from({ length: 3000 }, (_, i) => {
      if (i % 1000 === 0) squares.push([random.next() * 9, random.next() * 9]);
      const [sx, sy] = squares.at(-1)!;
      const hot = random.next() < 0.2;
      const [x, y] = hot ? [sx + random.next(), sy + random.next()] : [random.next() * 10, random.next() * 10];
      return { x, y, is_hot: hot ? 'Y' : 'N', _arrival_time: at(i) };
    });
    const out = await scores(HOTSPOTS.replace('SELECT STREAM "x", "y" FROM', 'SELECT STREAM * FROM'), rows);
    for (const end of [999, 1999, 2999]) {
      const [sx, sy] = squares[(end + 1) / 1000 - 1]!;
      const spots = spotsOf(out[end]!);
      expect(spots).toHaveLength(1);
      // The hotspot lies in the square (give or take the scan radius), well above the average density.
      const [densest] = spots as [Spot];
      expect(densest.minValues[0]).toBeGreaterThanOrEqual(sx - 0.2);
      expect(densest.maxValues[0]).toBeLessThanOrEqual(sx + 1.2);
      expect(densest.minValues[1]).toBeGreaterThanOrEqual(sy - 0.2);
      expect(densest.maxValues[1]).toBeLessThanOrEqual(sy + 1.2);
      expect(densest.density).toBeGreaterThan(10);
    }
  });

  it('forgets a region once its points have left the window', async () => {
    // The dense points stop after row 600; the window holds the last 1000 rows.
    const rows = [...plane(600, centres, 5), ...plane(1100, [], 5).map((r, i) => ({ ...r, _arrival_time: at(600 + i) }))];
    const out = await scores(HOTSPOTS, rows);
    expect(spotsOf(out[900]!)).toHaveLength(2);
    expect(spotsOf(out.at(-1)!)).toEqual([]);
  });

  it('a run stopped and restored from any of its checkpoints writes the same results as an uninterrupted run', async () => {
    const { whole, pieced } = await cutAndRestored(HOTSPOTS, plane(400, centres, 4), 90);
    expect(pieced.length).toBeGreaterThanOrEqual(3);
    expect(spotsOf((whole as Record<string, unknown>[]).at(-1)!).length).toBeGreaterThan(0);
    for (const rows of pieced) expect(rows).toEqual(whole);
  });
});

describe('EXPLAIN', () => {
  it('shows the model with the columns it reads and its parameters, defaults filled in', async () => {
    const sql = FOREST.replace('50, 64, 1000, 1)', '50)');
    const result = await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: rowsOf(heartRates(5, new Map())) }, explain: true });
    expect(result.explain).toContain('RandomCutForest [columns=[heartRate, temperature] trees=50 sample=256 decay=100000 shingle=1]');
    const hot = await runQuery({ sql: HOTSPOTS, inputs: { SOURCE_SQL_STREAM_001: rowsOf(plane(5, [], 5)) }, explain: true });
    expect(hot.explain).toContain('Hotspots [columns=[x, y] window=1000 radius=0.2 min-points=17]');
  });
});

describe('in a live query', () => {
  it('is planned over a declared stream, as a task whose state goes into the checkpoint', async () => {
    const plan = await planLiveQuery({
      sql: `CREATE TABLE tolls (plate VARCHAR(8), amount BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'tolls');
        SELECT plate, amount, ANOMALY_SCORE FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM plate, amount FROM tolls)));`,
    });
    const forest = plan.graph.nodes.find((n) => n.name === 'RandomCutForest')!;
    expect(forest).toBeDefined();
    expect(plan.taskIds).toContain(forest.id);
  });
});
