/**
 * The closing lines of `bench:e2e`: the highest sustained rate, or when no step was sustained, the best rate the
 * server reached anyway, so a run under load (or `--quick`) still says how far it is from the goals.
 */
import { formatCount } from '../lib/stats.ts';
import type { StepResult } from './step.ts';
import { RATE_GOALS } from './windows.ts';

type Reached = Pick<StepResult, 'rate' | 'achievedRate' | 'serverCpuUsPerRecord' | 'serverCores' | 'goalRatios' | 'misses'>;

/** The step with the highest achieved rate (ties: the lower target, which asked for less), or none. */
export function bestReached<T extends Reached>(steps: readonly T[]): T | undefined {
  return [...steps].filter((s) => s.achievedRate > 0).sort((a, b) => b.achievedRate - a.achievedRate || a.rate - b.rate)[0];
}

/** The rate at which the SDK reference step runs when no step was sustained: the best achieved rate, in steps of 500. */
export function referenceRate(step: Pick<StepResult, 'achievedRate'>): number {
  return Math.max(500, Math.round(step.achievedRate / 500) * 500);
}

/** One line for the best rate reached by a step that was not sustained, with why it was not. */
export function notSustainedLine(step: Reached): string {
  const cpu = Number.isFinite(step.serverCpuUsPerRecord) ? `${formatCount(step.serverCpuUsPerRecord)} µs/toll` : 'n/a µs/toll';
  return `best rate reached, NOT sustained: ${formatCount(step.achievedRate)} tolls/s (asked ${formatCount(step.rate)}/s), ` +
    `server ${step.serverCores.toFixed(2)} cores (${cpu}); ${step.goalRatios.map((r, i) => `${r.toFixed(3)} of ${formatCount(RATE_GOALS[i]!)}/s`).join(', ')}` +
    `${step.misses.length > 0 ? `; missed: ${step.misses.join('; ')}` : ''}`;
}
