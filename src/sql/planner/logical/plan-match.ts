/**
 * `FROM t MATCH_RECOGNIZE (...)`: checks the clause against what is supported (an ascending time first in
 * ORDER BY, columns in PARTITION BY, DEFINE and SKIP TO naming variables of the pattern, a pattern that
 * cannot match no row) and gives the output fields. `compileMatchClause` is shared with the physical
 * planner, which compiles the same expressions for the operator.
 */
import type { MatchRecognizeFrom } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import type { CompileContext } from '../../expr/compile.ts';
import { compileExpr } from '../../expr/compile.ts';
import type { PatternExpr } from '../../expr/pattern-navigation.ts';
import { compilePatternExpr, prevReach } from '../../expr/pattern-navigation.ts';
import type { Field } from '../../expr/scope.ts';
import type { AfterMatch, MatchRecognizeSpec } from '../../operators/match-recognize.ts';
import type { LogicalNode, MatchRecognizeNode } from './nodes.ts';
import type { PlanEnv } from './plan-query.ts';
import { ctxOf, planFrom, rejectUpdates, rowtimeField } from './plan-query.ts';

export function planMatchRecognize(item: MatchRecognizeFrom, env: PlanEnv): MatchRecognizeNode {
  const input: LogicalNode = planFrom(item.source, env);
  rejectUpdates(input, env, item.pos, 'MATCH_RECOGNIZE');
  const variables: string[] = [];
  for (const s of item.pattern) if (!variables.includes(s.variable.toUpperCase())) variables.push(s.variable.toUpperCase());
  const { measureTypes } = compileMatchClause(item, variables, ctxOf(env, input.fields));
  const qualifier = item.alias;
  const fields: Field[] = [];
  const names = new Set<string>();
  const addField = (name: string, type: Field['type'], pos: MatchRecognizeFrom['pos']) => {
    if (names.has(name.toLowerCase())) throw planProblem(pos, `MATCH_RECOGNIZE gives two columns named ${name}`, 'Give the measure another name: the PARTITION BY columns come first in the output.');
    names.add(name.toLowerCase());
    fields.push({ name, type, qualifier, hidden: false });
  };
  const ctx = ctxOf(env, input.fields);
  for (const p of item.partitionBy) {
    if (p.kind !== 'column') throw planProblem(p.pos, 'MATCH_RECOGNIZE partitions by columns only', 'Compute the value in a subquery and PARTITION BY its column.');
    addField(p.name, compileExpr(p, ctx).type, p.pos);
  }
  item.measures.forEach((m, i) => addField(m.alias, measureTypes[i]!, m.pos));
  fields.push(rowtimeField(qualifier));
  return { kind: 'matchRecognize', input, clause: item, variables, fields };
}

/** Everything of the operator's spec but the hold-back, compiled over the input's fields. */
export function compileMatchClause(
  item: MatchRecognizeFrom,
  variables: readonly string[],
  ctx: CompileContext,
): Omit<MatchRecognizeSpec, 'holdBack'> & { measureTypes: Field['type'][] } {
  const order = item.orderBy[0];
  if (!order) throw planProblem(item.pos, 'MATCH_RECOGNIZE needs ORDER BY the time attribute', 'Write ORDER BY the column of the WATERMARK clause, e.g. ORDER BY rowtime.');
  const time = compileExpr(order.expr, ctx);
  if (order.descending || (time.type !== 'TIMESTAMP' && time.type !== 'ANY')) {
    throw planProblem(order.expr.pos, `MATCH_RECOGNIZE must ORDER BY a time attribute ascending (${order.descending ? 'DESC' : `this is ${time.type}`})`, 'ORDER BY the column of the WATERMARK clause, ascending.');
  }
  const indexOf = (name: string, pos: MatchRecognizeFrom['pos'], where: string): number => {
    const i = variables.indexOf(name.toUpperCase());
    if (i < 0) throw planProblem(pos, `${where} names ${name}, which is not a variable of the PATTERN`, `Variables here: ${variables.join(', ')}.`);
    return i;
  };
  if (item.pattern.every((s) => s.min === 0)) {
    throw planProblem(item.pattern[0]!.pos, 'a PATTERN that can match no row at all is not supported', 'Make one variable take at least one row, e.g. PATTERN (A+) or PATTERN (A B*).');
  }
  const define: (PatternExpr | null)[] = variables.map(() => null);
  for (const { variable: name, condition: cond, pos } of item.define) {
    const at = indexOf(name, pos, 'DEFINE');
    const compiled = compilePatternExpr(cond, variables, ctx);
    if (compiled.type !== 'BOOLEAN' && compiled.type !== 'ANY' && compiled.type !== 'NULL') {
      throw planProblem(cond.pos, `DEFINE ${name} must be a condition, this is ${compiled.type}`, `Compare the value, e.g. ${name} AS ${name}.price > 10.`);
    }
    define[at] = compiled;
  }
  const measures = item.measures.map((m) => compilePatternExpr(m.expr, variables, ctx));
  let afterMatch: AfterMatch;
  const skip = item.afterMatch;
  if (skip.to === 'FIRST' || skip.to === 'LAST') {
    const variable = indexOf(skip.variable, skip.pos, `AFTER MATCH SKIP TO ${skip.to}`);
    const first = item.pattern[0]!;
    // Its first row, or its last when it has one row only and appears once: the next search would start again
    // where this one did.
    const leading = first.variable.toUpperCase() === variables[variable] && first.min > 0;
    const once = item.pattern.filter((s) => s.variable.toUpperCase() === variables[variable]).length === 1 && first.max === 1;
    if (leading && (skip.to === 'FIRST' || once)) {
      throw planProblem(skip.pos, `AFTER MATCH SKIP TO ${skip.to} ${skip.variable} would start every search again at the first row of the match it found`, 'Write SKIP TO NEXT ROW, SKIP PAST LAST ROW, or skip to a later variable.');
    }
    afterMatch = { to: skip.to, variable, name: skip.variable };
  } else afterMatch = { to: skip.to };
  const within = item.within?.millis ?? null;
  if (within !== null && within <= 0) throw planProblem(item.within!.pos, 'WITHIN must be a positive interval', "Write WITHIN INTERVAL '1' HOUR.");
  return {
    timeFn: time.fn,
    thenBy: item.orderBy.slice(1).map((o) => ({ fn: compileExpr(o.expr, ctx).fn, descending: o.descending })),
    partitionFns: item.partitionBy.map((p) => compileExpr(p, ctx).fn),
    variables,
    define,
    steps: item.pattern.map((s) => ({ variable: variables.indexOf(s.variable.toUpperCase()), min: s.min, max: s.max, greedy: s.greedy })),
    within,
    measures,
    measureTypes: measures.map((m) => m.type),
    afterMatch,
    prevReach: prevReach([...define.filter((d) => d !== null), ...measures]),
  };
}
