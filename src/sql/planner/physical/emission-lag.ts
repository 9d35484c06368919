/**
 * How far behind its own watermark a node can still emit a time column. A node that forwards watermark W
 * emits later only rows whose column is at least `W - lag`: a source's watermark column lags by the allowed
 * lateness, while a windowed aggregate emits a window when the watermark passes its end, so its
 * window_end lags by the lateness and its window_start by the window size more. The interval join keeps
 * rows until the other input can no longer produce a match by this measure.
 *
 * `null` means the plan does not say (a column that is not a time the watermark follows); the join then
 * treats the column like an event-time column and sends rows that come later than that to the error stream
 * as LATE_ROW, rather than losing their matches.
 */
import type { Expr, TimeUnit } from '../../ast/index.ts';
import { exprKey, FIXED_UNIT_MS } from '../../ast/index.ts';
import { Scope } from '../../expr/scope.ts';
import type { LogicalKind, LogicalNode, Pipeline, WindowSpec } from '../logical/nodes.ts';

type Lag = number | null;

export interface LagContext {
  /** Allowed lateness of the run, ms: rows up to this far behind the watermark still pass a source. */
  readonly lateness: number;
  /** Every INSERT/pump of the script, to follow a stream read to what writes it. */
  readonly pipelines: readonly Pipeline[];
}

function windowSize(w: WindowSpec): number | null {
  switch (w.type) {
    case 'TUMBLE':
    case 'HOP':
    case 'CUMULATE':
      return w.size;
    case 'STAGGER':
      return w.range;
    case 'SESSION':
      return null;
  }
}

const plus = (lag: Lag, more: number): Lag => (lag === null ? null : lag + more);

/** The lag of an expression over `node`'s output: a column, or a column plus or minus an interval. */
export function exprLag(node: LogicalNode, e: Expr, ctx: LagContext, substitutions?: ReadonlyMap<string, number> | null): Lag {
  const sub = substitutions?.get(exprKey(e));
  if (sub !== undefined) return fieldLag(node, sub, ctx);
  if (e.kind === 'column') {
    let i: number;
    try {
      i = new Scope(node.fields).resolve(e.qualifier, e.name, e.pos);
    } catch {
      return null;
    }
    return fieldLag(node, i, ctx);
  }
  if (e.kind === 'binary' && (e.op === '+' || e.op === '-') && e.right.kind === 'interval') {
    // col + X is X later than col, so it trails the watermark by X less.
    return plus(exprLag(node, e.left, ctx, substitutions), e.op === '+' ? -e.right.millis : e.right.millis);
  }
  // FLOOR(col TO unit) and STEP(col BY X) are at most one unit (less a millisecond) before col; CEIL is not before it.
  if (e.kind === 'floorCeil' && e.unit !== null) return plus(exprLag(node, e.operand, ctx, substitutions), e.fn === 'CEIL' ? 0 : LONGEST_UNIT[e.unit] - 1);
  if (e.kind === 'step' && e.interval.millis > 0) return plus(exprLag(node, e.operand, ctx, substitutions), e.interval.millis - 1);
  return null;
}

/** The longest a time unit can be, ms (a month of 31 days, a leap year). */
const LONGEST_UNIT: Record<TimeUnit, number> = {
  ...FIXED_UNIT_MS,
  MONTH: 31 * FIXED_UNIT_MS.DAY,
  QUARTER: 92 * FIXED_UNIT_MS.DAY,
  YEAR: 366 * FIXED_UNIT_MS.DAY,
};

type FieldLag = { readonly [K in LogicalKind]: (n: Extract<LogicalNode, { kind: K }>, field: number, ctx: LagContext) => Lag };

const FIELD_LAG: FieldLag = {
  scan: (n, field, ctx) => (field === n.source.watermarkColumn ? ctx.lateness : null),
  streamRead: (n, field, ctx) => {
    // The union of what the pumps writing the stream deliver to this column, as the sink receives it.
    const writers = ctx.pipelines.filter((p) => p.target.toLowerCase() === n.stream.toLowerCase());
    let lag: Lag = writers.length > 0 ? Number.NEGATIVE_INFINITY : null;
    for (const p of writers) {
      if (lag === null) break;
      const from = p.query.fields.map((f, i) => ({ f, i })).filter(({ f }) => !f.hidden);
      let own: Lag = null;
      if (field < p.targetColumns.length) {
        const src = from[field];
        if (src && src.f.type === p.targetColumns[field]!.type) own = fieldLag(p.query, src.i, ctx);
      } else if (field === p.targetColumns.length) {
        const rowtimeAt = p.query.fields.findIndex((f) => f.hidden && f.name === 'ROWTIME');
        if (rowtimeAt >= 0) own = fieldLag(p.query, rowtimeAt, ctx);
      }
      lag = own === null ? null : Math.max(lag, own);
    }
    return lag;
  },
  filter: (n, field, ctx) => fieldLag(n.input, field, ctx),
  project: (n, field, ctx) => {
    const e = n.exprs[field];
    return e === undefined ? null : exprLag(n.input, e, ctx, n.substitutions);
  },
  windowAssign: (n, field, ctx) => {
    const own = field - n.input.fields.length;
    if (own < 0) return fieldLag(n.input, field, ctx);
    // Rows pass at once: a row at time t gets windows ending after t and starting after t - size.
    const t = exprLag(n.input, n.window.time, ctx);
    const size = windowSize(n.window);
    if (own === 0) return size === null ? null : plus(t, size);
    return own === 1 ? t : plus(t, 1);
  },
  aggregate: (n, field, { lateness }) => {
    const w = n.window;
    if (!w || w.type === 'SESSION' || w.type === 'STAGGER') return null;
    // Windows ending at or before watermark - lateness are emitted; later rows belong to windows ending after it.
    const at = n.keys.length + n.aggs.length;
    switch (field - at) {
      case 0:
        return lateness + w.size;
      case 1:
      case 3: // ROWTIME is the window end
        return lateness;
      case 2:
        return lateness + 1;
      default:
        return null;
    }
  },
  // Rows ordered by event time wait for the watermark; how long they waited is not tracked.
  overAggregate: (n, field, ctx) => (!n.orderedByEventTime && field < n.input.fields.length ? fieldLag(n.input, field, ctx) : null),
  // Rows wait for their window to close; how long they waited is not tracked.
  topN: () => null,
  lookupJoin: (n, field, ctx) => (field < n.input.fields.length ? fieldLag(n.input, field, ctx) : null),
  intervalJoin: (n, field, ctx) => {
    // A joined row leaves when its later half arrives; the earlier half is bounded by the join's interval.
    const leftLag = exprLag(n.left, n.leftTime, ctx);
    const rightLag = exprLag(n.right, n.rightTime, ctx);
    const width = n.left.fields.length;
    const side = field < width ? n.left : n.right;
    const own = field < width ? field : field - width;
    const timeExpr = field < width ? n.leftTime : n.rightTime;
    const timeField = timeExpr.kind === 'column' ? safeResolve(side, timeExpr) : null;
    if (timeField !== own) return null;
    if (leftLag === null || rightLag === null) return null;
    return field < width ? Math.max(leftLag, rightLag + n.upper) : Math.max(rightLag, leftLag + n.lower);
  },
  // Probe rows wait for the watermark; how long they waited is not tracked.
  temporalJoin: () => null,
  // A column of the union comes as late as it comes from its latest input.
  unionAll: (n, field, ctx) => {
    let lag: Lag = Number.NEGATIVE_INFINITY;
    for (const input of n.inputs) {
      const own = fieldLag(input, field, ctx);
      if (own === null) return null;
      lag = Math.max(lag, own);
    }
    return lag;
  },
  // Constant rows come before their input's watermark moves at all.
  values: () => Number.NEGATIVE_INFINITY,
  // Rows wait for the watermark and matches for rows after them; how long is not tracked.
  matchRecognize: () => null,
  // Rows leave as they come, with the model's columns added.
  streamModel: (n, field, ctx) => (field < n.input.fields.length ? fieldLag(n.input, field, ctx) : null),
};

function safeResolve(node: LogicalNode, e: Extract<Expr, { kind: 'column' }>): number | null {
  try {
    return new Scope(node.fields).resolve(e.qualifier, e.name, e.pos);
  } catch {
    return null;
  }
}

/** Plans with a cycle through streams are rejected later; here they only stop the walk. */
const visiting = new Set<LogicalNode>();

export function fieldLag(node: LogicalNode, field: number, ctx: LagContext): Lag {
  if (visiting.has(node)) return null;
  visiting.add(node);
  try {
    return (FIELD_LAG[node.kind] as (n: LogicalNode, f: number, c: LagContext) => Lag)(node, field, ctx);
  } finally {
    visiting.delete(node);
  }
}
