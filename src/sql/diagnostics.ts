/**
 * SQL errors point at the text: line and column, the offending line, a caret under the spot, and what to do.
 */
import { TollstreamError } from '../core/errors.ts';

/** A place in the SQL text. Lines and columns count from 1. */
export interface SourcePos {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export const NO_POS: SourcePos = Object.freeze({ offset: -1, line: 0, column: 0 });

export function sqlError(
  code: 'SQL_SYNTAX' | 'SQL_PLAN',
  sql: string,
  pos: SourcePos,
  problem: string,
  hint: string,
): TollstreamError {
  const where = pos.line > 0 ? `line ${pos.line}, column ${pos.column}: ` : '';
  let excerpt = '';
  if (pos.line > 0) {
    const text = sql.split('\n')[pos.line - 1] ?? '';
    excerpt = `\n  ${text.replace(/\t/g, ' ')}\n  ${' '.repeat(Math.max(0, pos.column - 1))}^`;
  }
  const message = `${where}${problem}${excerpt}${hint ? `\n${hint}` : ''}`;
  return new TollstreamError(code, message, { context: { line: pos.line, column: pos.column, problem } });
}

/** Planner errors are raised deep inside passes that do not hold the SQL text; the entry point adds it. */
export class PlanProblem extends Error {
  constructor(
    readonly pos: SourcePos,
    readonly problem: string,
    readonly hint: string,
  ) {
    super(problem);
  }
}

export function planProblem(pos: SourcePos, problem: string, hint = ''): PlanProblem {
  return new PlanProblem(pos, problem, hint);
}
