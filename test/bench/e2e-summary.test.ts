/** bench:e2e's closing lines when no step was sustained: the best rate reached, its CPU per toll and the goal ratios. */
import { describe, expect, it } from 'vitest';
import { bestReached, notSustainedLine, referenceRate } from '../../bench/e2e/summary.ts';

const step = (rate: number, achievedRate: number, misses: string[] = ['breach p99 2,400 ms > 2,000']) => ({
  rate,
  achievedRate,
  serverCpuUsPerRecord: 120,
  serverCores: 1.44,
  goalRatios: [achievedRate / 100_000, achievedRate / 250_000],
  misses,
});

describe('the best rate reached when nothing was sustained', () => {
  it('is the step with the highest achieved rate, not the highest target', () => {
    const steps = [step(2000, 1990), step(4000, 3950), step(8000, 6100)];
    expect(bestReached(steps)?.rate).toBe(8000);
    expect(bestReached([step(8000, 3000), step(4000, 3960)])?.rate).toBe(4000);
    expect(bestReached([])).toBeUndefined();
    expect(bestReached([step(2000, 0)])).toBeUndefined();
  });

  it('prints the rate, the CPU per toll and the ratios to 100k and 250k, labelled as not sustained', () => {
    const line = notSustainedLine(step(8000, 6100));
    expect(line).toContain('NOT sustained');
    expect(line).toContain('6,100 tolls/s');
    expect(line).toContain('120 µs/toll');
    expect(line).toContain('0.061 of 100,000/s');
    expect(line).toContain('0.024 of 250,000/s');
    expect(line).toContain('breach p99 2,400 ms');
  });

  it('sets the SDK reference step at the achieved rate, in steps of 500 and at least 500', () => {
    expect(referenceRate({ achievedRate: 6100 })).toBe(6000);
    expect(referenceRate({ achievedRate: 6300 })).toBe(6500);
    expect(referenceRate({ achievedRate: 120 })).toBe(500);
  });
});
