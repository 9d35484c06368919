/**
 * Finds the match of a row pattern that starts at one row. A reluctant quantifier prefers one row less and
 * a greedy one one row more, and the first way that completes is the match, as in the SQL standard; but, as
 * Flink does (its documentation's examples depend on it), a greedy variable keeps every row its condition
 * accepts: the pattern moves past it only at a row it does not accept, or once it has its maximum, and does
 * not go back to try a shorter run. Rows come in time order and more may still come, so the search can
 * also end with "wait": the most preferred way not yet ruled out needs a row that has not come. The search is a depth-first walk
 * with an explicit stack (a long run of one variable does not grow the call stack). A search that waits
 * hands its stack back, and goes on from it when rows come: conditions read only rows before the one they
 * try, so going on gives what starting again would. (The stack is not checkpointed: a restored partition
 * starts again from the match's first row and gets to the same place.)
 */
import type { Row } from '../expr/types.ts';
import type { MatchView } from '../expr/pattern-navigation.ts';

export interface PatternStep {
  /** Index of the variable. */
  readonly variable: number;
  readonly min: number;
  /** Infinity without a bound. */
  readonly max: number;
  readonly greedy: boolean;
}

export interface RowPattern {
  readonly steps: readonly PatternStep[];
  /** Whether the row at `view.current` may be mapped to `view.currentVar` (null: any row may). */
  readonly conditions: readonly (((view: MatchView) => boolean) | null)[];
  /** `WITHIN`: the last row of a match is at most this many ms after its first; null without a limit. */
  readonly within: number | null;
}

export type MatchOutcome =
  | { readonly kind: 'match'; readonly end: number; readonly vars: readonly number[] }
  | { readonly kind: 'none' }
  | { readonly kind: 'wait'; readonly search: SearchState };

/** Where a search that waits for rows stands, to go on from when they come. */
export interface SearchState {
  readonly stack: Frame[];
  readonly vars: number[];
}

interface Frame {
  /** The row this frame tries next (moved when the partition drops rows before it). */
  pos: number;
  readonly step: number;
  readonly count: number;
  /** How many of the two moves (one row more for this step, or on to the next step) were tried. */
  tried: number;
}

/**
 * The preferred match of `pattern` starting at `rows[start]`. `canGrow` tells whether a row after the last
 * one here may still come (false once the input ended or, with WITHIN, once no later row can be in time).
 */
export function matchAt(pattern: RowPattern, rows: readonly Row[], times: readonly number[], start: number, canGrow: boolean, resume?: SearchState): MatchOutcome {
  const { steps, conditions, within } = pattern;
  const vars: number[] = resume?.vars ?? [];
  const stack: Frame[] = resume?.stack ?? [{ pos: start, step: 0, count: 0, tried: 0 }];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.step === steps.length) return { kind: 'match', end: f.pos, vars: vars.slice(0, f.pos - start) };
    if (f.tried === 2) {
      stack.pop();
      continue;
    }
    const s = steps[f.step]!;
    // Greedy: one more row first, then move on; reluctant: the other way round.
    const takeRow = (f.tried === 0) === s.greedy;
    f.tried++;
    if (!takeRow) {
      if (f.count >= s.min) stack.push({ pos: f.pos, step: f.step + 1, count: 0, tried: 0 });
      continue;
    }
    if (f.count >= s.max) continue;
    if (f.pos >= rows.length) {
      if (!canGrow) continue;
      // This move is tried again when the row comes.
      f.tried--;
      return { kind: 'wait', search: { stack, vars } };
    }
    if (within !== null && times[f.pos]! - times[start]! > within) continue;
    const condition = conditions[s.variable];
    vars[f.pos - start] = s.variable;
    if (condition && !condition({ rows, times, start, vars, current: f.pos, currentVar: s.variable })) continue;
    // A greedy variable that accepts the row keeps it: moving on at this row is not a way to match.
    if (s.greedy) f.tried = 2;
    stack.push({ pos: f.pos + 1, step: f.step, count: f.count + 1, tried: 0 });
  }
  return { kind: 'none' };
}
