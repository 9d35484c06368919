/** Name resolution: which position of the row a column reference reads. */
import type { SqlTypeName } from '../ast/index.ts';
import type { SourcePos } from '../diagnostics.ts';
import { planProblem } from '../diagnostics.ts';

export interface Field {
  readonly name: string;
  readonly type: SqlTypeName;
  /** The table name or alias the column can be qualified with. */
  readonly qualifier: string | null;
  /** Hidden columns (ROWTIME) are readable by name but left out of `*` and of sink rows. */
  readonly hidden: boolean;
  /** For a column of a row-valued select item (a log parser's `r.COLUMN1`), the item's name (`r`). */
  readonly rowOf?: string;
}

export class Scope {
  constructor(readonly fields: readonly Field[]) {}

  /** The position of the column, or throws a plan problem that lists the columns there are. */
  resolve(qualifier: string | null, name: string, pos: SourcePos): number {
    const candidates = this.fields
      .map((f, i) => ({ f, i }))
      .filter(({ f }) => qualifier === null || (f.qualifier !== null && f.qualifier.toLowerCase() === qualifier.toLowerCase()));
    // r.COLUMN1 without a table name: the column of a row-valued item r.
    if (qualifier !== null && candidates.length === 0 && this.fields.some((f) => f.rowOf?.toLowerCase() === qualifier.toLowerCase())) {
      return this.resolve(null, `${qualifier}.${name}`, pos);
    }
    if (qualifier !== null && candidates.length === 0) {
      const quals = [...new Set(this.fields.map((f) => f.qualifier).filter((q) => q !== null))];
      throw planProblem(pos, `unknown table or alias "${qualifier}"`, quals.length ? `Tables here: ${quals.join(', ')}.` : 'Name a table from the FROM clause.');
    }
    const exact = candidates.filter(({ f }) => f.name === name);
    const loose = exact.length ? exact : candidates.filter(({ f }) => f.name.toLowerCase() === name.toLowerCase());
    const visible = loose.filter(({ f }) => !f.hidden);
    const found = visible.length ? visible : loose;
    if (found.length === 1) return found[0]!.i;
    if (found.length > 1) {
      // A hidden ROWTIME per joined input: the first one (the left input) is the one a bare ROWTIME means.
      if (found.every(({ f }) => f.hidden)) return found[0]!.i;
      throw planProblem(pos, `column "${name}" is ambiguous`, `Qualify it: ${found.map(({ f }) => `${f.qualifier ?? '?'}.${f.name}`).join(' or ')}.`);
    }
    if (name.toUpperCase() === 'APPROXIMATE_ARRIVAL_TIME') {
      throw planProblem(
        pos,
        'APPROXIMATE_ARRIVAL_TIME is a column of an input stream only, not of the rows of a query or of an in-application stream',
        'Read it FROM the input stream itself and pass it on as a column of its own: SELECT STREAM APPROXIMATE_ARRIVAL_TIME AS arrival_time, ...',
      );
    }
    const names = this.fields.filter((f) => !f.hidden).map((f) => f.name);
    throw planProblem(pos, `unknown column "${name}"`, names.length ? `Columns here: ${names.join(', ')}.` : 'The input has no columns.');
  }

  get width(): number {
    return this.fields.length;
  }
}
