/**
 * `TABLE(RANDOM_CUT_FOREST(CURSOR(...)))` and `TABLE(HOTSPOTS(CURSOR(...)))`: the cursor's rows with the model's
 * columns added. The model reads the cursor's numeric columns (BIGINT and DOUBLE), as the reference says;
 * other columns pass through unread. A column without a declared type could hold anything, so it is refused
 * rather than guessed at.
 */
import type { StreamModelFrom } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import type { Field } from '../../expr/scope.ts';
import type { StreamModelNode } from './nodes.ts';
import type { PlanEnv } from './plan-query.ts';
import { planFrom, rejectUpdates } from './plan-query.ts';

/** The columns each model adds, after the input's. */
function modelColumns(item: StreamModelFrom): { name: string; type: Field['type'] }[] {
  switch (item.model.fn) {
    case 'RANDOM_CUT_FOREST':
      return [{ name: 'ANOMALY_SCORE', type: 'DOUBLE' }];
    case 'RANDOM_CUT_FOREST_WITH_EXPLANATION':
      return [
        { name: 'ANOMALY_SCORE', type: 'DOUBLE' },
        { name: 'ANOMALY_EXPLANATION', type: 'VARCHAR' },
      ];
    case 'HOTSPOTS':
      return [{ name: 'HOTSPOTS_RESULT', type: 'VARCHAR' }];
  }
}

export function planStreamModel(item: StreamModelFrom, env: PlanEnv): StreamModelNode {
  const fn = item.model.fn;
  const input = planFrom(item.source, env);
  rejectUpdates(input, env, item.pos, fn);
  const numeric: number[] = [];
  input.fields.forEach((f, i) => {
    if (f.hidden || f.rowOf !== undefined) return;
    if (f.type === 'ANY') {
      throw planProblem(item.source.pos, `${fn} reads the numeric columns of its CURSOR, and ${f.name} has no declared type`, `Declare the column's type, or CAST it in the CURSOR: CAST(${f.name} AS DOUBLE).`);
    }
    if (f.type === 'BIGINT' || f.type === 'DOUBLE') numeric.push(i);
  });
  if (numeric.length === 0) {
    throw planProblem(item.source.pos, `the CURSOR of ${fn} has no numeric column`, 'Select the numbers the model should look at: CURSOR(SELECT STREAM x, y FROM s). DECIMAL is not supported: CAST it AS DOUBLE.');
  }
  const added = modelColumns(item);
  for (const a of added) {
    if (input.fields.some((f) => !f.hidden && f.name.toUpperCase() === a.name)) {
      throw planProblem(item.source.pos, `the CURSOR of ${fn} already has a column named ${a.name}, the column ${fn} adds`, `Rename it in the CURSOR: SELECT STREAM ${a.name} AS ${a.name}_IN ...`);
    }
  }
  const qualifier = item.alias;
  const fields: Field[] = [
    ...input.fields.map((f) => (qualifier === null ? f : { ...f, qualifier })),
    ...added.map((a) => ({ name: a.name, type: a.type, qualifier, hidden: false })),
  ];
  return { kind: 'streamModel', input, model: item.model, numeric, fields };
}
