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
import type { Expr } from '../../ast/index.ts';
import { exprKey } from '../../ast/index.ts';
import { Scope } from '../../expr/scope.ts';
import type { LogicalKind, LogicalNode, WindowSpec } from '../logical/nodes.ts';

type Lag = number | null;

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
export function exprLag(node: LogicalNode, e: Expr, lateness: number, substitutions?: ReadonlyMap<string, number> | null): Lag {
  const sub = substitutions?.get(exprKey(e));
  if (sub !== undefined) return fieldLag(node, sub, lateness);
  if (e.kind === 'column') {
    let i: number;
    try {
      i = new Scope(node.fields).resolve(e.qualifier, e.name, e.pos);
    } catch {
      return null;
    }
    return fieldLag(node, i, lateness);
  }
  if (e.kind === 'binary' && (e.op === '+' || e.op === '-') && e.right.kind === 'interval') {
    // col + X is X later than col, so it trails the watermark by X less.
    return plus(exprLag(node, e.left, lateness, substitutions), e.op === '+' ? -e.right.millis : e.right.millis);
  }
  return null;
}

type FieldLag = { readonly [K in LogicalKind]: (n: Extract<LogicalNode, { kind: K }>, field: number, lateness: number) => Lag };

const FIELD_LAG: FieldLag = {
  scan: (n, field, lateness) => (field === n.source.watermarkColumn ? lateness : null),
  // The stream's writers are other pipelines; not followed yet.
  streamRead: () => null,
  filter: (n, field, lateness) => fieldLag(n.input, field, lateness),
  project: (n, field, lateness) => {
    const e = n.exprs[field];
    return e === undefined ? null : exprLag(n.input, e, lateness, n.substitutions);
  },
  windowAssign: (n, field, lateness) => {
    const own = field - n.input.fields.length;
    if (own < 0) return fieldLag(n.input, field, lateness);
    // Rows pass at once: a row at time t gets windows ending after t and starting after t - size.
    const t = exprLag(n.input, n.window.time, lateness);
    const size = windowSize(n.window);
    if (own === 0) return size === null ? null : plus(t, size);
    return own === 1 ? t : plus(t, 1);
  },
  aggregate: (n, field, lateness) => {
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
  overAggregate: (n, field, lateness) => (field < n.input.fields.length ? fieldLag(n.input, field, lateness) : null),
  // Rows wait for their window to close; how long they waited is not tracked.
  topN: () => null,
  lookupJoin: (n, field, lateness) => (field < n.input.fields.length ? fieldLag(n.input, field, lateness) : null),
  intervalJoin: (n, field, lateness) => {
    // A joined row leaves when its later half arrives; the earlier half is bounded by the join's interval.
    const leftLag = exprLag(n.left, n.leftTime, lateness);
    const rightLag = exprLag(n.right, n.rightTime, lateness);
    const width = n.left.fields.length;
    const side = field < width ? n.left : n.right;
    const own = field < width ? field : field - width;
    const timeExpr = field < width ? n.leftTime : n.rightTime;
    const timeField = timeExpr.kind === 'column' ? safeResolve(side, timeExpr) : null;
    if (timeField !== own) return null;
    if (leftLag === null || rightLag === null) return null;
    return field < width ? Math.max(leftLag, rightLag + n.upper) : Math.max(rightLag, leftLag + n.lower);
  },
};

function safeResolve(node: LogicalNode, e: Extract<Expr, { kind: 'column' }>): number | null {
  try {
    return new Scope(node.fields).resolve(e.qualifier, e.name, e.pos);
  } catch {
    return null;
  }
}

export function fieldLag(node: LogicalNode, field: number, lateness: number): Lag {
  return (FIELD_LAG[node.kind] as (n: LogicalNode, f: number, l: number) => Lag)(node, field, lateness);
}
