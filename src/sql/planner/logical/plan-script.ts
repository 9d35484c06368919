/** A whole script -> the pipelines (one per INSERT, pump or bare query) that feed output streams. */
import type { InsertStmt, Script, SelectQuery, Statement } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import type { CatalogOptions } from './catalog.ts';
import { Catalog } from './catalog.ts';
import type { QueryDialect } from './dialect.ts';
import { detectDialect } from './dialect.ts';
import type { LogicalPlan, Pipeline } from './nodes.ts';
import { streamsRead } from './nodes.ts';
import type { PlanEnv } from './plan-query.ts';
import { isUpdating, planSelect } from './plan-query.ts';

export interface LogicalPlanOptions extends CatalogOptions {
  readonly now: () => number;
  /** The dialect to plan in. @default detected from the script (see `detectDialect`) */
  readonly dialect?: QueryDialect;
}

export function planScript(script: Script, options: LogicalPlanOptions): LogicalPlan & { catalog: Catalog } {
  const dialect = options.dialect ?? detectDialect(script);
  // Kinesis Analytics checks every column of an input's schema (a bad value anywhere is an error row); Flink
  // decodes only the columns a query reads.
  const catalog = new Catalog(script, { ...options, pruneColumns: dialect === 'flink' });
  const env: PlanEnv = { catalog, now: options.now, dialect, viewsInProgress: new Set(), updatingStreams: new Set(), planned: { views: new Map(), ctes: new WeakMap() } };
  const pipelines: Pipeline[] = [];
  const outputs: string[] = [];
  let explain = false;
  let results = 0;

  const addOutput = (name: string) => {
    if (!outputs.some((o) => o.toLowerCase() === name.toLowerCase())) outputs.push(name);
  };

  const planInsert = (insert: InsertStmt, pumpName: string) => {
    const query = planSelect(insert.query, env);
    const visible = query.fields.filter((f) => !f.hidden);
    const declared = catalog.targetColumns(insert.target);
    if (!declared) {
      throw planProblem(insert.pos, `${insert.target} is not declared`, `Declare where the rows go: CREATE STREAM "${insert.target}" (...) or CREATE TABLE ${insert.target} (...) WITH ('stream' = '...').`);
    }
    if (catalog.isRefTable(insert.target)) throw planProblem(insert.pos, `${insert.target} is a reference table and cannot be written`, '');
    // Kinesis Analytics reports rows whose ROWTIME a pump rewrote out of order to error_stream; here ROWTIME
    // is the arrival time the engine gives each row, never written, so rows cannot go out of order.
    const writesRowtime = insert.query.items.some((i) => i.kind === 'item' && i.alias?.toUpperCase() === 'ROWTIME');
    if (writesRowtime || insert.columns?.some((c) => c.toUpperCase() === 'ROWTIME')) {
      throw planProblem(
        insert.query.pos,
        `ROWTIME cannot be written into ${insert.target}: it is the time a row arrives in the stream, set by the engine`,
        'Keep the time in a column of its own (SELECT STREAM ..., ts AS event_time) and window on it: WINDOWED BY STAGGER, STEP(event_time BY ...), or an OVER window ORDER BY event_time.',
      );
    }
    let targetColumns = declared;
    if (insert.columns) {
      targetColumns = insert.columns.map((name) => {
        const c = declared.find((d) => d.name.toLowerCase() === name.toLowerCase());
        if (!c) throw planProblem(insert.pos, `${insert.target} has no column "${name}"`, `Columns: ${declared.map((d) => d.name).join(', ')}.`);
        return c;
      });
    }
    if (visible.length !== targetColumns.length) {
      throw planProblem(
        insert.query.pos,
        `the query gives ${visible.length} column(s) but ${insert.target} takes ${targetColumns.length} (${targetColumns.map((c) => c.name).join(', ')})`,
        'Select one value per target column, in the same order.',
      );
    }
    const name = catalog.streams.get(insert.target.toLowerCase())?.name ?? catalog.tables.get(insert.target.toLowerCase())?.options.stream ?? insert.target;
    pipelines.push({ pumpName, pos: insert.pos, target: name, targetColumns, query });
    if (isUpdating(query, env)) env.updatingStreams.add(insert.target.toLowerCase());
    addOutput(name);
  };

  const planQuery = (query: SelectQuery) => {
    const node = planSelect(query, env);
    results++;
    const target = results === 1 ? 'result' : `result_${results}`;
    const targetColumns = node.fields.filter((f) => !f.hidden).map((f) => ({ name: f.name, type: f.type }));
    // Result rows are keyed by column name: a second column of the same name would overwrite the first.
    const seen = new Set<string>();
    targetColumns.forEach((c, i) => {
      if (seen.has(c.name.toLowerCase())) {
        const item = query.items.some((x) => x.kind === 'star') ? undefined : query.items[i];
        throw planProblem(item?.pos ?? query.pos, `the result has two columns named "${c.name}"`, 'Give each selected column its own alias, e.g. AS total_a, AS total_b.');
      }
      seen.add(c.name.toLowerCase());
    });
    pipelines.push({ pumpName: target, pos: query.pos, target, targetColumns, query: node });
    addOutput(target);
  };

  const visit = (st: Statement) => {
    switch (st.kind) {
      case 'createTable':
      case 'createStream':
      case 'createView':
        return;
      case 'insert':
        return planInsert(st, `INSERT INTO ${st.target}`);
      case 'createPump':
        return planInsert(st.insert, st.name);
      case 'query':
        return planQuery(st.query);
      case 'explain':
        explain = true;
        return visit(st.statement);
    }
  };
  for (const st of script.statements) visit(st);
  if (pipelines.length === 0) {
    throw planProblem(script.statements[0]!.pos, 'the script declares things but moves no rows', 'Add an INSERT INTO ... SELECT, a CREATE PUMP or a SELECT.');
  }
  rejectCycles(pipelines);
  return { pipelines, outputs, explain, dialect, catalog };
}

/** A pump may not read, directly or through other pumps' streams, the stream it writes: rows would loop. */
function rejectCycles(pipelines: readonly Pipeline[]): void {
  const lower = (s: string) => s.toLowerCase();
  const readers = new Map<string, Pipeline[]>();
  const names = new Map(pipelines.map((p) => [lower(p.target), p.target]));
  for (const p of pipelines) for (const s of streamsRead(p.query)) readers.set(lower(s), [...(readers.get(lower(s)) ?? []), p]);
  for (const p of pipelines) {
    // Follow rows from the pump's target through the pumps that read it; coming back to it is a loop.
    const target = lower(p.target);
    const seen = new Set<string>();
    const queue = [target];
    while (queue.length > 0) {
      const s = queue.shift()!;
      if (seen.has(s)) continue;
      seen.add(s);
      for (const reader of readers.get(s) ?? []) {
        if (lower(reader.target) === target) {
          const read = names.get(s) ?? s;
          const problem =
            s === target
              ? `${reader.pumpName} reads the stream it writes (${reader.target}): rows would loop forever`
              : `${reader.pumpName} writes ${reader.target} but reads ${read}, which other pumps feed from ${reader.target}: rows would loop forever`;
          throw planProblem(reader.pos, problem, 'Write the result to another stream.');
        }
        queue.push(lower(reader.target));
      }
    }
  }
}
