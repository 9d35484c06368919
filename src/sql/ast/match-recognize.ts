/** `t MATCH_RECOGNIZE (...)`: rows of a partition, in time order, matched against a pattern of variables. */
import type { SourcePos } from '../diagnostics.ts';
import type { Expr, IntervalExpr, OrderItem } from './expressions.ts';
import type { SubqueryFrom, TableRef } from './query.ts';

/** One variable of the pattern with its quantifier: `A`, `B+`, `C*?`, `D{2,3}`. */
export interface PatternElement {
  readonly variable: string;
  /** Fewest rows the variable takes. */
  readonly min: number;
  /** Most rows it takes; Infinity without a bound. */
  readonly max: number;
  /** Takes as many rows as it can (the default), or with a trailing `?` as few. */
  readonly greedy: boolean;
  readonly pos: SourcePos;
}

/** `AFTER MATCH SKIP ...`: where the search starts after a match. */
export type AfterMatchSkip =
  | { readonly to: 'PAST LAST ROW' }
  | { readonly to: 'NEXT ROW' }
  | { readonly to: 'FIRST' | 'LAST'; readonly variable: string; readonly pos: SourcePos };

export interface Measure {
  readonly expr: Expr;
  readonly alias: string;
  readonly pos: SourcePos;
}

export interface MatchRecognizeFrom {
  readonly kind: 'matchRecognize';
  readonly source: TableRef | SubqueryFrom;
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly OrderItem[];
  readonly measures: readonly Measure[];
  readonly afterMatch: AfterMatchSkip;
  /** The pattern: variables one after another (concatenation). */
  readonly pattern: readonly PatternElement[];
  /** `WITHIN INTERVAL ...`: a match's last row is at most this long after its first. */
  readonly within: IntervalExpr | null;
  /** `DEFINE A AS cond, ...`: a variable left out takes any row. */
  readonly define: readonly { readonly variable: string; readonly condition: Expr; readonly pos: SourcePos }[];
  readonly alias: string | null;
  readonly pos: SourcePos;
}
