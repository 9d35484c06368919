/**
 * Logical plan -> physical graph: picks an operator for each node, fuses WHERE and the select list into
 * one Calc, shares one source per input, compiles every expression to closures.
 */
import type { Expr, QueryDialect } from '../../ast/index.ts';
import { exprKey } from '../../ast/index.ts';
import { TollstreamError } from '../../../core/errors.ts';
import { planProblem } from '../../diagnostics.ts';
import { compileAggregate } from '../../expr/aggregates.ts';
import { compileLag } from '../../expr/lag.ts';
import type { CompileContext } from '../../expr/compile.ts';
import { castValue, compileExpr, compilePredicate } from '../../expr/compile.ts';
import type { Field } from '../../expr/scope.ts';
import { Scope } from '../../expr/scope.ts';
import type { CompiledFn, Row, Value, WatermarkCell } from '../../expr/types.ts';
import { CalcOperator } from '../../operators/calc.ts';
import type { OuterJoin } from '../../operators/interval-join.ts';
import { IntervalJoinOperator } from '../../operators/interval-join.ts';
import { LookupJoinOperator } from '../../operators/lookup-join.ts';
import { MatchRecognizeOperator } from '../../operators/match-recognize.ts';
import type { ReferenceTable } from '../../reference-table.ts';
import { staticReferenceTable } from '../../reference-table.ts';
import { EventTimeOverAggregateOperator } from '../../operators/event-time-over-aggregate.ts';
import type { OverWindow } from '../../operators/over-aggregate.ts';
import { OverAggregateOperator } from '../../operators/over-aggregate.ts';
import { SessionWindowAggregateOperator } from '../../operators/session-window-aggregate.ts';
import { StaggerWindowAggregateOperator } from '../../operators/stagger-window-aggregate.ts';
import { StreamSinkOperator } from '../../operators/stream-sink.ts';
import { TemporalJoinOperator } from '../../operators/temporal-join.ts';
import { TimeOrderedTopNOperator } from '../../operators/time-ordered-top-n.ts';
import { MonotonicGroupAggregateOperator } from '../../operators/monotonic-group-aggregate.ts';
import { UpdatingAggregateOperator } from '../../operators/updating-aggregate.ts';
import { UpdatingTopNOperator } from '../../operators/updating-top-n.ts';
import type { WindowAssigner } from '../../operators/window-aggregate.ts';
import { WindowAggregateOperator, cumulating, hopping, tumbling } from '../../operators/window-aggregate.ts';
import { WindowAssignOperator } from '../../operators/window-assign.ts';
import { WindowTopNOperator } from '../../operators/window-top-n.ts';
import { ValuesOperator } from '../../operators/values.ts';
import { ExceptOperator, IntersectOperator } from '../../operators/intersect.ts';
import { StreamModelOperator } from '../../operators/stream-model.ts';
import type { LogicalKind, LogicalNode, LogicalPlan, WindowSpec } from '../logical/nodes.ts';
import { logicalInputs, sameRows } from '../logical/nodes.ts';
import { compileMatchClause } from '../logical/plan-match.ts';
import type { OperatorNode, OutputStream, PhysicalGraph, PhysicalNode, SourceNode } from './graph.ts';
import type { LagContext } from './emission-lag.ts';
import { exprLag } from './emission-lag.ts';
import { renderExpr, renderMillis } from './render.ts';

export interface PhysicalOptions {
  readonly now: () => number;
  /** Windows close this long after the watermark passes their end, ms. */
  readonly allowedLateness: number;
  /** Rows of each reference table, by table name (lower case). */
  readonly refRows: ReadonlyMap<string, readonly Row[]>;
  /** Reference tables that may change while the query runs, by table name (lower case); they win over `refRows`. */
  readonly refTables?: ReadonlyMap<string, ReferenceTable>;
}

type Ctx = {
  options: PhysicalOptions;
  dialect: QueryDialect;
  lags: LagContext;
  pump: string;
  nodes: PhysicalNode[];
  sources: Map<string, SourceNode>;
  sinks: Map<string, OperatorNode>;
  /** The physical node of each logical node built so far (by `sameRows`): a view read twice is built once. */
  built: Map<LogicalNode, PhysicalNode>;
  /** The distinct nodes reading each node (by `sameRows`): a select list is folded only into an aggregate it alone reads. */
  parents: ReadonlyMap<LogicalNode, ReadonlySet<LogicalNode>>;
  nextId: () => string;
};

/** Per node of the plan (by `sameRows`), the distinct nodes that read it. */
function parentsOf(plan: LogicalPlan): Map<LogicalNode, Set<LogicalNode>> {
  const parents = new Map<LogicalNode, Set<LogicalNode>>();
  const seen = new Set<LogicalNode>();
  const visit = (node: LogicalNode) => {
    const self = sameRows(node);
    if (seen.has(self)) return;
    seen.add(self);
    for (const input of (logicalInputs[node.kind] as (x: LogicalNode) => readonly LogicalNode[])(node)) {
      const key = sameRows(input);
      const set = parents.get(key) ?? new Set<LogicalNode>();
      set.add(self);
      parents.set(key, set);
      visit(input);
    }
  };
  for (const p of plan.pipelines) visit(p.query);
  return parents;
}

function cctx(c: Ctx, fields: readonly Field[], subs?: ReadonlyMap<string, number> | null): CompileContext {
  return { scope: new Scope(fields), substitutions: subs ?? undefined, now: c.options.now, dialect: c.dialect };
}

function operator(c: Ctx, name: string, detail: string, inputs: PhysicalNode[], fields: readonly Field[], create: OperatorNode['create']): OperatorNode {
  const node: OperatorNode = { kind: 'operator', id: c.nextId(), name, detail, inputs, fields, pumpName: c.pump, create };
  c.nodes.push(node);
  return node;
}

function assigner(w: WindowSpec): WindowAssigner {
  const assign = unshifted(w);
  const offset = w.type === 'TUMBLE' || w.type === 'HOP' || w.type === 'CUMULATE' ? (w.offset ?? 0) : 0;
  if (offset === 0) return assign;
  // Windows shifted by the offset: those of the time less the offset, moved by it.
  return (ts, each) => assign(ts - offset, (start, end) => each(start + offset, end + offset));
}

function unshifted(w: WindowSpec): WindowAssigner {
  switch (w.type) {
    case 'TUMBLE':
      return tumbling(w.size);
    case 'HOP':
      return hopping(w.slide, w.size);
    case 'CUMULATE':
      return cumulating(w.step, w.size);
    default:
      throw new Error(`no fixed assigner for ${w.type}`);
  }
}

function offsetText(w: { readonly offset?: number }): string {
  return w.offset ? ` offset=${w.offset < 0 ? '-' : ''}${renderMillis(Math.abs(w.offset))}` : '';
}

function windowText(w: WindowSpec): string {
  switch (w.type) {
    case 'TUMBLE':
      return `tumble size=${renderMillis(w.size)}${offsetText(w)}`;
    case 'HOP':
      return `hop slide=${renderMillis(w.slide)} size=${renderMillis(w.size)}${offsetText(w)}`;
    case 'CUMULATE':
      return `cumulate step=${renderMillis(w.step)} max=${renderMillis(w.size)}${offsetText(w)}`;
    case 'SESSION':
      return `session gap=${renderMillis(w.gap)}`;
    case 'STAGGER':
      return `stagger range=${renderMillis(w.range)}`;
  }
}

const list = (es: readonly Expr[]) => es.map(renderExpr).join(', ');

/** The select list folded into a window aggregate: output column k is column `slots[k]` of its rows. */
interface FoldedSelect {
  readonly slots: readonly number[];
  readonly fields: readonly Field[];
  readonly select: string;
}

/**
 * The operator of an aggregate; with `fold`, a TUMBLE, HOP or CUMULATE aggregate emitting the select list's
 * columns (null for other aggregates, which then keep their Calc). The folded Calc's id is left unused, so
 * the ids of the nodes after it, and the checkpoints keyed by them, stay as they were.
 */
function buildAggregate(n: Extract<LogicalNode, { kind: 'aggregate' }>, c: Ctx, fold: FoldedSelect | null): PhysicalNode | null {
  if (fold && (!n.window || n.window.type === 'SESSION' || n.window.type === 'STAGGER')) return null;
  const input = build(n.input, c);
  const ctx = cctx(c, n.input.fields);
  const keyFns = n.keys.map((k) => compileExpr(k, ctx).fn);
  const aggCtx = n.aggInputFields ? cctx(c, n.aggInputFields) : ctx;
  const aggs = n.aggs.map((a) => compileAggregate(a, aggCtx, renderExpr(a)));
  const detail = `${n.window ? `${windowText(n.window)} on ${renderExpr(n.window.time)} ` : ''}keys=[${list(n.keys)}] aggs=[${aggs.map((a) => a.text).join(', ')}]`;
  const lateness = c.options.allowedLateness;
  const w = n.window;
  if (!w && n.monotonicKey !== undefined) {
    const rowtime = compileExpr(n.rowtime, ctx).fn;
    const at = n.monotonicKey;
    return operator(c, 'MonotonicGroupAggregate', detail, [input], n.fields, () => new MonotonicGroupAggregateOperator('MonotonicGroupAggregate', keyFns, at, aggs, rowtime));
  }
  if (!w) {
    const rowtime = compileExpr(n.rowtime, ctx).fn;
    return operator(c, 'UpdatingAggregate', detail, [input], n.fields, () => new UpdatingAggregateOperator('UpdatingAggregate', keyFns, aggs, rowtime));
  }
  const time = compileExpr(w.time, ctx).fn;
  switch (w.type) {
    case 'SESSION': {
      // Sessions merge, and which of two merged sessions saw its rows first is not kept.
      const ordered = n.aggs.find((a) => a.name === 'FIRST_VALUE' || a.name === 'LAST_VALUE' || a.name === 'NTH_VALUE' || a.name === 'LISTAGG');
      if (ordered) throw planProblem(ordered.pos, `${ordered.name} is not supported in SESSION windows`, 'Use MIN or MAX of the value, or a TUMBLE/HOP window.');
      return operator(c, 'SessionWindowAggregate', detail, [input], n.fields, () => new SessionWindowAggregateOperator('SessionWindowAggregate', w.gap, time, keyFns, aggs, lateness));
    }
    case 'STAGGER':
      return operator(c, 'StaggerWindowAggregate', detail, [input], n.fields, () => new StaggerWindowAggregateOperator('StaggerWindowAggregate', w.range, time, keyFns, aggs));
    default: {
      const name = w.type === 'TUMBLE' ? 'TumblingWindowAggregate' : w.type === 'HOP' ? 'HoppingWindowAggregate' : 'CumulatingWindowAggregate';
      const assign = assigner(w);
      const withWindow = n.aggInputFields !== undefined;
      if (fold) {
        const node = operator(c, name, `${detail}; ${fold.select}`, [input], fold.fields, () => new WindowAggregateOperator(name, assign, time, keyFns, aggs, lateness, withWindow, fold.slots));
        c.nextId();
        return node;
      }
      return operator(c, name, detail, [input], n.fields, () => new WindowAggregateOperator(name, assign, time, keyFns, aggs, lateness, withWindow));
    }
  }
}

/** Per expression, the input column it is (a column, or an aggregate's result by substitution); null when one computes. */
function pickedSlots(exprs: readonly Expr[], ctx: CompileContext): number[] | null {
  const slots: number[] = [];
  for (const e of exprs) {
    const sub = ctx.substitutions?.get(exprKey(e));
    if (sub !== undefined) slots.push(sub);
    else if (e.kind === 'column') slots.push(ctx.scope.resolve(e.qualifier, e.name, e.pos));
    else return null;
  }
  return slots;
}

const BUILDERS: { readonly [K in LogicalKind]: (n: Extract<LogicalNode, { kind: K }>, c: Ctx) => PhysicalNode } = {
  scan: (n, c) => {
    const key = n.source.input.toLowerCase();
    let s = c.sources.get(key);
    if (!s) {
      const src = n.source;
      const wmCol = src.watermarkColumn === src.columns.length ? 'ROWTIME' : src.columns[src.watermarkColumn]!.name;
      const read = src.columns.filter((_, i) => src.readColumns[i]);
      const reads = read.length < src.columns.length ? ` reads=${read.map((col) => col.name).join(', ')} (${read.length} of ${src.columns.length} columns)` : '';
      const detail = `input=${src.input} watermark=${wmCol}${src.watermarkDelay ? ` - ${renderMillis(src.watermarkDelay)}` : ''} idle-timeout=${renderMillis(src.idleTimeout)}${reads}`;
      s = { kind: 'source', id: c.nextId(), name: 'Source', detail, fields: n.fields, pumpName: null, source: src };
      c.sources.set(key, s);
      c.nodes.push(s);
    }
    return s;
  },
  streamRead: (n, c) => {
    const sink = c.sinks.get(n.stream.toLowerCase());
    if (!sink) throw planProblem({ offset: -1, line: 0, column: 0 }, `stream ${n.stream} is read before any statement writes it`, 'Put the INSERT or pump that writes it first.');
    return sink;
  },
  filter: (n, c) => {
    const input = build(n.input, c);
    const watermark: WatermarkCell = { current: null };
    const pred = compilePredicate(n.condition, { ...cctx(c, n.input.fields, n.substitutions), watermark });
    return operator(c, 'Calc', `where ${renderExpr(n.condition)}`, [input], n.fields, () => new CalcOperator('Calc', pred, null, watermark));
  },
  project: (n, c) => {
    let inputNode = n.input;
    let pred: ((row: Row) => boolean) | null = null;
    let where = '';
    const watermark: WatermarkCell = { current: null };
    if (inputNode.kind === 'filter') {
      pred = compilePredicate(inputNode.condition, { ...cctx(c, inputNode.input.fields, inputNode.substitutions), watermark });
      where = `where ${renderExpr(inputNode.condition)}; `;
      inputNode = inputNode.input;
    }
    const ctx = { ...cctx(c, inputNode.fields, n.substitutions), watermark };
    const shown = n.exprs.map((e, i) => {
      const f = n.fields[i]!;
      const t = renderExpr(e);
      return f.hidden ? null : t === f.name ? t : `${t} AS ${f.name}`;
    });
    const select = `select ${shown.filter((s) => s !== null).join(', ')}`;
    // A select list that only picks columns of a window aggregate's rows is folded into it: no second copy of each row.
    const slots = pred === null && inputNode.kind === 'aggregate' && c.parents.get(sameRows(inputNode))?.size === 1 ? pickedSlots(n.exprs, ctx) : null;
    if (slots !== null && inputNode.kind === 'aggregate') {
      const folded = buildAggregate(inputNode, c, { slots, fields: n.fields, select });
      if (folded) return folded;
    }
    const input = build(inputNode, c);
    const fns = n.exprs.map((e) => compileExpr(e, ctx).fn);
    const detail = `${where}${select}`;
    const p = pred;
    return operator(c, 'Calc', detail, [input], n.fields, () => new CalcOperator('Calc', p, fns, watermark));
  },
  windowAssign: (n, c) => {
    const input = build(n.input, c);
    if (n.window.type === 'SESSION' || n.window.type === 'STAGGER') {
      throw planProblem(n.window.time.pos, 'a SESSION window needs a GROUP BY window_start, window_end', 'Aggregate the session: GROUP BY window_start, window_end, key.');
    }
    const time = compileExpr(n.window.time, cctx(c, n.input.fields)).fn;
    const assign = assigner(n.window);
    return operator(c, 'WindowAssign', windowText(n.window), [input], n.fields, () => new WindowAssignOperator('WindowAssign', assign, time));
  },
  aggregate: (n, c) => buildAggregate(n, c, null)!,
  overAggregate: (n, c) => {
    const input = build(n.input, c);
    const ctx = cctx(c, n.input.fields);
    const time = compileExpr(n.time, ctx).fn;
    const windows = n.windows.map((w) => ({
      partitionFns: w.partitionBy.map((p) => compileExpr(p, ctx).fn),
      range: w.range,
      rows: w.rows,
      includesOldestBound: c.dialect === 'flink',
      aggs: w.aggs.map((a) => compileAggregate({ ...a, over: null }, ctx, renderExpr({ ...a, over: null }))),
      lags: w.lags.map((a) => compileLag(a, ctx, renderExpr({ ...a, over: null }))),
    }));
    const texts = (w: OverWindow) => [...w.aggs, ...w.lags].map((a) => a.text).join(', ');
    const detail = windows.map((w, i) => `partition=[${list(n.windows[i]!.partitionBy)}] ${w.rows !== null ? `rows=${w.rows} preceding` : `range=${w.includesOldestBound ? '[' : '('}t-${renderMillis(w.range)}, t]`} aggs=[${texts(w)}]`).join('; ');
    if (n.orderedByEventTime) {
      // Rows wait until no row of an earlier time can come: as far behind the watermark as the column can be.
      const lag = exprLag(n.input, n.time, c.lags);
      if (lag === null) {
        throw planProblem(
          n.time.pos,
          `OVER ... ORDER BY ${renderExpr(n.time)}: the watermark does not follow ${renderExpr(n.time)}, so rows cannot be put in its order`,
          'ORDER BY the column of the table\'s WATERMARK clause (WATERMARK FOR ts AS ts - INTERVAL ...), or leave ORDER BY out (Kinesis Analytics: rows in ROWTIME order).',
        );
      }
      const holdBack = Math.max(0, lag);
      return operator(c, 'EventTimeOverAggregate', `order=${renderExpr(n.time)} ${detail}`, [input], n.fields, () => new EventTimeOverAggregateOperator('EventTimeOverAggregate', time, windows, holdBack));
    }
    return operator(c, 'SlidingWindowAggregate', detail, [input], n.fields, () => new OverAggregateOperator('SlidingWindowAggregate', time, windows));
  },
  topN: (n, c) => {
    const input = build(n.input, c);
    const ctx = cctx(c, n.input.fields);
    const parts = n.partitionBy.map((p) => compileExpr(p, ctx).fn);
    const order = n.orderBy.map((o) => ({ fn: compileExpr(o.expr, ctx).fn, descending: o.descending }));
    const detail = `partition=[${list(n.partitionBy)}] order=[${n.orderBy.map((o) => `${renderExpr(o.expr)}${o.descending ? ' DESC' : ''}`).join(', ')}]${Number.isFinite(n.limit) ? ` limit=${n.limit}` : ''}`;
    if (n.updating) {
      if (!Number.isFinite(n.limit)) {
        throw planProblem(
          n.orderBy[0]!.expr.pos,
          `ROW_NUMBER() ordered by ${renderExpr(n.orderBy[0]!.expr)}${n.orderBy[0]!.descending ? ' DESC' : ''} outside a window is a Top-N: it needs WHERE rownum <= N (or rownum = N, rownum BETWEEN M AND N) right around the query that numbers the rows, so that it keeps N rows per partition`,
          'Filter in the query around it: SELECT * FROM (SELECT *, ROW_NUMBER() OVER (...) AS rownum FROM t) WHERE rownum <= 5.',
        );
      }
      // Keep-last deduplication: of two rows of one time the later to come is the last.
      const first = n.orderBy[0]!;
      const newestWinsTies = n.limit === 1 && n.orderBy.length === 1 && first.descending && compileExpr(first.expr, ctx).type === 'TIMESTAMP';
      const name = newestWinsTies ? 'DeduplicateKeepLast' : 'UpdatingTopN';
      const mode = { enteringOnly: n.updating.enteringOnly, newestWinsTies };
      return operator(c, name, `${detail}${mode.enteringOnly ? ' send=entering' : ''}`, [input], n.fields, () => new UpdatingTopNOperator(name, parts, order, n.limit, mode));
    }
    if (n.windowEnd === null) {
      // Rows wait until no row of an earlier time can come: as far behind the watermark as the column can be.
      const time = n.orderBy[0]!.expr;
      const lag = exprLag(n.input, time, c.lags);
      if (lag === null) {
        throw planProblem(
          time.pos,
          `ORDER BY ${renderExpr(time)} outside a window: the watermark does not follow ${renderExpr(time)}, so rows cannot be put in its order`,
          c.dialect === 'kinesis'
            ? 'ORDER BY ROWTIME or a monotonic function of it first (FLOOR(ROWTIME TO SECOND), STEP(ROWTIME BY INTERVAL ...)), then the other keys; the ROWTIME of rows from DISTINCT or a GROUP BY is one the watermark follows only when ROWTIME or a time window is among its keys (SELECT STREAM DISTINCT rowtime, ticker).'
            : "ORDER BY the column of the table's WATERMARK clause (WATERMARK FOR ts AS ts - INTERVAL ...).",
        );
      }
      const name = !n.numbered ? 'TimeOrderedSort' : n.limit === 1 ? 'Deduplicate' : 'TimeOrderedRowNumber';
      return operator(c, name, detail, [input], n.fields, () => new TimeOrderedTopNOperator(name, order[0]!.fn, Math.max(0, lag), parts, order.slice(1), n.limit, n.numbered));
    }
    const end = compileExpr(n.windowEnd, ctx).fn;
    return operator(c, 'WindowTopN', detail, [input], n.fields, () => new WindowTopNOperator('WindowTopN', end, parts, order, n.limit));
  },
  lookupJoin: (n, c) => {
    const input = build(n.input, c);
    const key = n.table.name.toLowerCase();
    const rows = c.options.refRows.get(key);
    const constant = n.constantRows ?? null;
    if (constant === null && rows === undefined && n.table.path === null && !c.options.refTables?.has(key)) {
      throw new TollstreamError('SQL_INPUT', `reference table ${n.table.name} is kept from stream "${n.table.stream}", which this runner does not provide: give the table a file with 'path' (its records a changelog) or run the query live`, {
        context: { table: n.table.name, stream: n.table.stream },
      });
    }
    const table = constant !== null ? staticReferenceTable(n.table.name, constant as Row[]) : (c.options.refTables?.get(key) ?? staticReferenceTable(n.table.name, rows ?? []));
    const streamKeys = n.streamKeys.map((k) => compileExpr(k, cctx(c, n.input.fields)).fn);
    const tableCtx = cctx(c, n.tableFields);
    const tableKeys = n.tableKeys.map((k) => compileExpr(k, tableCtx).fn);
    // Keys that are plain columns are compared in the table's columns, without making its rows.
    const tableKeyColumns = n.tableKeys.every((k) => k.kind === 'column') ? n.tableKeys.map((k) => (k.kind === 'column' ? tableCtx.scope.resolve(k.qualifier, k.name, k.pos) : -1)) : null;
    const cond = n.condition ? compilePredicate(n.condition, cctx(c, [...n.input.fields, ...n.tableFields])) : null;
    const detail = `${n.joinType} table=${n.table.name} (${constant !== null ? `${constant.length} rows of VALUES` : n.table.path !== null ? `${table.data().size} rows from ${n.table.path}` : `latest per key of stream ${n.table.stream}`}) on [${list(n.streamKeys)}] = [${list(n.tableKeys)}]${n.condition ? ` and ${renderExpr(n.condition)}` : ''}`;
    return operator(c, 'LookupJoin', detail, [input], n.fields, () => new LookupJoinOperator('LookupJoin', table, tableKeys, streamKeys, n.tableFields.length, cond, n.joinType, tableKeyColumns));
  },
  intervalJoin: (n, c) => {
    const left = build(n.left, c);
    const right = build(n.right, c);
    const lctx = cctx(c, n.left.fields);
    const rctx = cctx(c, n.right.fields);
    // How far behind the watermark each input can still deliver its time (see emission-lag.ts).
    const lateness = c.options.allowedLateness;
    const leftLag = Math.max(0, exprLag(n.left, n.leftTime, c.lags) ?? lateness);
    const rightLag = Math.max(0, exprLag(n.right, n.rightTime, c.lags) ?? lateness);
    const sides = [
      { keyFns: n.leftKeys.map((k) => compileExpr(k, lctx).fn), timeFn: compileExpr(n.leftTime, lctx).fn, lag: leftLag },
      { keyFns: n.rightKeys.map((k) => compileExpr(k, rctx).fn), timeFn: compileExpr(n.rightTime, rctx).fn, lag: rightLag },
    ] as const;
    // The condition reads the joined row (a semi- or anti-join's output is the left row alone).
    const cond = compilePredicate(n.condition, cctx(c, [...n.left.fields, ...n.right.fields]));
    const rowtimeOf = (fields: readonly Field[]) => fields.findIndex((f) => f.hidden && f.name === 'ROWTIME');
    const widths = [n.left.fields.length, n.right.fields.length] as const;
    const outer: OuterJoin | null =
      n.joinType === 'INNER'
        ? null
        : n.joinType === 'SEMI' || n.joinType === 'ANTI'
          ? { mode: n.joinType === 'SEMI' ? 'semi' : 'anti', preserve: [true, false], widths, rowtimeAt: [-1, -1] }
          : { mode: 'outer', preserve: [n.joinType !== 'RIGHT', n.joinType !== 'LEFT'], widths, rowtimeAt: [rowtimeOf(n.left.fields), rowtimeOf(n.right.fields)] };
    const detail = `${n.joinType === 'INNER' ? '' : `${n.joinType} `}on [${list(n.leftKeys)}] = [${list(n.rightKeys)}], ${renderExpr(n.rightTime)} within [${renderExpr(n.leftTime)} - ${renderMillis(n.lower)}, ${renderExpr(n.leftTime)} + ${renderMillis(n.upper)}]`;
    return operator(c, 'IntervalJoin', detail, [left, right], n.fields, () => new IntervalJoinOperator('IntervalJoin', sides, n.lower, n.upper, cond, outer));
  },
  temporalJoin: (n, c) => {
    const probe = build(n.probe, c);
    const versions = build(n.versions, c);
    const pctx = cctx(c, n.probe.fields);
    const vctx = cctx(c, n.versions.fields);
    // Probe rows wait until no version valid at their time can come: as far behind the watermark as versions can be.
    const lag = exprLag(n.versions, n.versionTime, c.lags);
    const holdBack = Math.max(0, lag ?? c.options.allowedLateness);
    if (exprLag(n.probe, n.probeTime, c.lags) === null) {
      throw planProblem(
        n.probeTime.pos,
        `FOR SYSTEM_TIME AS OF ${renderExpr(n.probeTime)}: the watermark does not follow ${renderExpr(n.probeTime)}, so rows cannot wait for the versions valid at that time`,
        "Name the column of the left table's WATERMARK clause (WATERMARK FOR ts AS ts - INTERVAL ...).",
      );
    }
    const side = (keys: readonly Expr[], time: Expr, ctx: CompileContext) => ({ keyFns: keys.map((k) => compileExpr(k, ctx).fn), timeFn: compileExpr(time, ctx).fn });
    const cond = compilePredicate(n.condition, cctx(c, n.fields));
    const detail = `${n.joinType === 'LEFT' ? 'LEFT ' : ''}on [${list(n.probeKeys)}] = [${list(n.versionKeys)}] as of ${renderExpr(n.probeTime)}, versions by ${renderExpr(n.versionTime)}`;
    return operator(c, 'TemporalJoin', detail, [probe, versions], n.fields, () =>
      new TemporalJoinOperator('TemporalJoin', side(n.probeKeys, n.probeTime, pctx), side(n.versionKeys, n.versionTime, vctx), holdBack, n.versions.fields.length, cond, n.joinType === 'LEFT'),
    );
  },
  unionAll: (n, c) => {
    const inputs = n.inputs.map((i) => build(i, c));
    if (n.except) {
      const width = n.fields.filter((f) => !f.hidden).length;
      const name = n.except.all ? 'ExceptAll' : 'Except';
      const { all, rows } = n.except;
      return operator(c, name, `${rows.length} constant row(s)`, inputs, n.fields, () => new ExceptOperator(name, all, width, rows));
    }
    if (n.intersect) {
      const width = n.fields.filter((f) => !f.hidden).length;
      const name = n.intersect.all ? 'IntersectAll' : 'Intersect';
      return operator(c, name, `${width} column(s)`, inputs, n.fields, () => new IntersectOperator(name, n.intersect!.all, width));
    }
    // Rows pass as they are; the task merges the inputs' watermarks (their minimum) and aligns barriers.
    return operator(c, 'UnionAll', `${inputs.length} inputs`, inputs, n.fields, () => new CalcOperator('UnionAll', null, null));
  },
  values: (n, c) => operator(c, 'Values', `${n.rows.length} row(s)`, [], n.fields, () => new ValuesOperator('Values', n.rows)),
  matchRecognize: (n, c) => {
    const input = build(n.input, c);
    const m = n.clause;
    const time = m.orderBy[0]!.expr;
    // Rows wait until no row of an earlier time can come: as far behind the watermark as the column can be.
    const lag = exprLag(n.input, time, c.lags);
    if (lag === null) {
      throw planProblem(
        time.pos,
        `MATCH_RECOGNIZE ORDER BY ${renderExpr(time)}: the watermark does not follow ${renderExpr(time)}, so rows cannot be put in its order`,
        "ORDER BY the column of the table's WATERMARK clause (WATERMARK FOR ts AS ts - INTERVAL ...).",
      );
    }
    const { measureTypes: _, ...spec } = compileMatchClause(m, n.variables, cctx(c, n.input.fields));
    const quantifier = (s: (typeof m.pattern)[number]) =>
      `${s.min === 1 && s.max === 1 ? '' : s.min === 0 && s.max === Infinity ? '*' : s.min === 1 && s.max === Infinity ? '+' : s.min === 0 && s.max === 1 ? '?' : `{${s.min},${s.max === Infinity ? '' : s.max}}`}${s.greedy ? '' : '?'}`;
    const skip = m.afterMatch.to === 'FIRST' || m.afterMatch.to === 'LAST' ? `TO ${m.afterMatch.to} ${m.afterMatch.variable}` : m.afterMatch.to === 'NEXT ROW' ? 'TO NEXT ROW' : 'PAST LAST ROW';
    const detail = `partition=[${list(m.partitionBy)}] order=${renderExpr(time)} pattern=(${m.pattern.map((s) => s.variable + quantifier(s)).join(' ')})${m.within ? ` within=${renderMillis(m.within.millis)}` : ''} skip ${skip}`;
    return operator(c, 'MatchRecognize', detail, [input], n.fields, () => new MatchRecognizeOperator('MatchRecognize', { ...spec, holdBack: Math.max(0, lag) }));
  },
  streamModel: (n, c) => {
    const input = build(n.input, c);
    const m = n.model;
    const names = n.numeric.map((i) => n.input.fields[i]!.name);
    const name = m.fn === 'HOTSPOTS' ? 'Hotspots' : 'RandomCutForest';
    const detail =
      m.fn === 'HOTSPOTS'
        ? `columns=[${names.join(', ')}] window=${m.windowSize} radius=${m.scanRadius} min-points=${m.minimumNumberOfPointsInAHotspot}`
        : `columns=[${names.join(', ')}] trees=${m.numberOfTrees} sample=${m.subSampleSize} decay=${m.timeDecay} shingle=${m.shingleSize}${m.fn === 'RANDOM_CUT_FOREST_WITH_EXPLANATION' ? ' explained' : ''}`;
    return operator(c, name, detail, [input], n.fields, () => new StreamModelOperator(name, m, n.numeric, names));
  },
};

function build(n: LogicalNode, c: Ctx): PhysicalNode {
  const rows = sameRows(n);
  const done = c.built.get(rows);
  if (done) {
    if (done.pumpName !== c.pump) sharedByPumps(done);
    return done;
  }
  const node = (BUILDERS[n.kind] as (x: LogicalNode, c: Ctx) => PhysicalNode)(n, c);
  c.built.set(rows, node);
  return node;
}

/** A node several pumps read works for none of them alone: its error rows name no pump. */
function sharedByPumps(node: PhysicalNode): void {
  if (node.kind !== 'operator' || node.pumpName === null || node.id.startsWith('sink:')) return;
  (node as { pumpName: string | null }).pumpName = null;
  node.inputs.forEach(sharedByPumps);
}

export function buildPhysical(plan: LogicalPlan, options: PhysicalOptions): PhysicalGraph {
  let id = 0;
  const c: Ctx = { options, dialect: plan.dialect, lags: { lateness: options.allowedLateness, pipelines: plan.pipelines }, pump: '', nodes: [], sources: new Map(), sinks: new Map(), built: new Map(), parents: parentsOf(plan), nextId: () => `n${++id}` };
  const outputs: OutputStream[] = [];
  const sinkInputs = new Map<string, PhysicalNode[]>();
  // Sinks exist before any pipeline so a pipeline can read a stream another one writes.
  for (const p of plan.pipelines) {
    const key = p.target.toLowerCase();
    if (c.sinks.has(key)) continue;
    const inputs: PhysicalNode[] = [];
    sinkInputs.set(key, inputs);
    const columns = p.targetColumns;
    const fields: Field[] = [...columns.map((col) => ({ name: col.name, type: col.type, qualifier: null, hidden: false })), { name: 'ROWTIME', type: 'TIMESTAMP', qualifier: null, hidden: true }];
    const target = p.target;
    const sink: OperatorNode = {
      kind: 'operator',
      id: `sink:${target}`,
      name: 'StreamSink',
      detail: target,
      inputs,
      fields,
      pumpName: null,
      create: (hooks, readers) => new StreamSinkOperator('StreamSink', (rows) => hooks.deliver(target, rows), readers > 0, (time) => hooks.watermark?.(target, time)),
    };
    c.sinks.set(key, sink);
    outputs.push({ name: target, columns, sink });
  }
  for (const p of plan.pipelines) {
    c.pump = p.pumpName;
    const query = build(p.query, c);
    const from = p.query.fields.map((f, i) => ({ f, i })).filter(({ f }) => !f.hidden);
    const rowtimeAt = p.query.fields.findIndex((f) => f.hidden && f.name === 'ROWTIME');
    const now = options.now;
    const fns: CompiledFn[] = p.targetColumns.map((col, i) => {
      const src = from[i]!;
      const fromType = src.f.type;
      const at = src.i;
      if (fromType === col.type || col.type === 'ANY') return (row: Row) => row[at] as Value;
      return (row: Row) => castValue(row[at] as Value, fromType, col.type);
    });
    fns.push(rowtimeAt >= 0 ? (row: Row) => row[rowtimeAt] as Value : () => now());
    const sink = c.sinks.get(p.target.toLowerCase())!;
    // When the query already produces the target's columns in order (and ROWTIME after them), rows go
    // to the sink as they are: no copy per row.
    const identity =
      rowtimeAt === p.targetColumns.length &&
      p.query.fields.length === p.targetColumns.length + 1 &&
      p.targetColumns.every((col, i) => from[i]!.i === i && (from[i]!.f.type === col.type || col.type === 'ANY'));
    if (identity) {
      sinkInputs.get(p.target.toLowerCase())!.push(query);
      continue;
    }
    const insert = operator(c, 'Insert', `${p.pumpName} -> ${p.target}`, [query], sink.fields, () => new CalcOperator('Insert', null, fns));
    sinkInputs.get(p.target.toLowerCase())!.push(insert);
  }
  for (const s of c.sinks.values()) c.nodes.push(s);
  return { nodes: order(c.nodes), outputs };
}

/** Inputs before readers; a pump that (through other pumps) reads the stream it writes is rejected. */
function order(nodes: readonly PhysicalNode[]): PhysicalNode[] {
  const out: PhysicalNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: PhysicalNode) => {
    const s = state.get(n.id);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw planProblem({ offset: -1, line: 0, column: 0 }, `the plan has a cycle through ${n.name} [${n.detail}]`, 'A pump cannot read, directly or through other streams, the stream it writes.');
    }
    state.set(n.id, 'visiting');
    if (n.kind === 'operator') for (const i of n.inputs) visit(i);
    state.set(n.id, 'done');
    out.push(n);
  };
  for (const n of nodes) visit(n);
  return out;
}
