/** Instantiates a physical graph as tasks joined by bounded queues, and runs it to the end of its inputs. */
import { TollstreamError } from '../../core/errors.ts';
import type { Row, Value } from '../expr/types.ts';
import { exportValue } from '../expr/types.ts';
import { SourceDecoder } from '../operators/source-decoder.ts';
import { WatermarkGenerator } from '../operators/watermark-generator.ts';
import type { PhysicalGraph, PhysicalNode, RuntimeHooks } from '../planner/physical/graph.ts';
import { fedBySources } from '../planner/physical/graph.ts';
import type { ErrorStream } from './error-stream.ts';
import type { LiveItem } from './live-source-task.ts';
import { LiveSourceTask } from './live-source-task.ts';
import { SourceTask } from './source-task.ts';
import { Task } from './task.ts';

export interface RunGraphOptions {
  readonly inputs: ReadonlyMap<string, AsyncIterable<unknown[]>>;
  /** Live inputs (log streams) by input name; a source whose input is here runs as a live source. */
  readonly live?: LiveRunOptions;
  readonly batchSize: number;
  readonly queueCapacity: number;
  readonly checkpointEveryRows: number;
  readonly allowedLateness: number;
  readonly now: () => number;
  readonly errors: ErrorStream;
  readonly hooks: RuntimeHooks;
  readonly onSnapshot?: (taskId: string, barrierId: number, state: unknown) => void;
  /** States of one checkpoint by task id (as `onSnapshot` reported them): the run continues from there. */
  readonly restore?: Readonly<Record<string, unknown>>;
}

export interface LiveRunOptions {
  readonly inputs: ReadonlyMap<string, AsyncIterable<LiveItem>>;
  /** Processing time for idle partitions, ms. */
  readonly now: () => number;
  /** Each live source task as it is built, by input name (for its watermark). */
  readonly onSource?: (input: string, task: LiveSourceTask) => void;
  readonly onRecords?: (input: string, records: number, rows: number) => void;
}

export interface RunStats {
  /** Highest queue depth seen per task, in rows. */
  readonly maxQueueDepth: Record<string, number>;
}

/** A row as a JSON object of its visible columns, for the error stream. */
function describe(node: PhysicalNode, row: Row | Record<string, unknown>): unknown {
  if (!Array.isArray(row)) return row;
  const out: Record<string, unknown> = {};
  node.fields.forEach((f, i) => {
    if (!f.hidden) out[f.name] = exportValue(row[i] as Value, f.type);
  });
  return out;
}

export async function runGraph(graph: PhysicalGraph, options: RunGraphOptions): Promise<RunStats> {
  const readers = new Map<string, number>();
  for (const n of graph.nodes) if (n.kind === 'operator') for (const i of n.inputs) readers.set(i.id, (readers.get(i.id) ?? 0) + 1);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  /** A source's rows are attributed to its pump when exactly one pump reads it. */
  const pumpOf = (sourceId: string): string | null => {
    const pumps = new Set<string | null>();
    for (const n of graph.nodes) if (n.kind === 'operator' && n.inputs.some((i) => i.id === sourceId)) pumps.add(n.pumpName);
    return pumps.size === 1 ? [...pumps][0]! : null;
  };
  const tasks = new Map<string, Task | SourceTask | LiveSourceTask>();
  const snapshot = options.onSnapshot ?? (() => {});

  for (const node of graph.nodes) {
    if (node.kind === 'source') {
      const src = node.source;
      const decoder = new SourceDecoder(src.columns, src.eventTimeColumn, options.now, src.arrivalTime, src.readColumns);
      const wm = new WatermarkGenerator(src.watermarkColumn, src.watermarkDelay, src.idleTimeout, options.allowedLateness);
      const live = options.live?.inputs.get(src.input);
      if (live) {
        const task = new LiveSourceTask(node.id, live, decoder, wm, {
          batchSize: options.batchSize,
          now: options.live!.now,
          reportError: (name, message, record) => options.errors.add(name, message, record, pumpOf(node.id)),
          reportSnapshot: (id, state) => snapshot(node.id, id, state),
          onRecords: (records, rows) => options.live!.onRecords?.(src.input, records, rows),
        });
        options.live!.onSource?.(src.input, task);
        tasks.set(node.id, task);
        continue;
      }
      const records = options.inputs.get(src.input);
      if (!records) throw new Error(`no input for ${src.input}`);
      tasks.set(
        node.id,
        new SourceTask(node.id, records, decoder, wm, {
          batchSize: options.batchSize,
          checkpointEveryRows: options.checkpointEveryRows,
          reportError: (name, message, record) => options.errors.add(name, message, record, pumpOf(node.id)),
          reportSnapshot: (id, state) => snapshot(node.id, id, state),
        }),
      );
      continue;
    }
    const op = node.create(options.hooks, readers.get(node.id) ?? 0);
    tasks.set(
      node.id,
      new Task(node.id, op, node.inputs.length, options.queueCapacity, {
        reportError: (taskId, name, message, row, input) => {
          const n = byId.get(taskId);
          const from = n && n.kind === 'operator' ? (n.inputs[input] ?? n) : n;
          options.errors.add(name, message, from ? describe(from, row) : row, n?.pumpName ?? null);
        },
        reportSnapshot: snapshot,
      }),
    );
  }
  if (options.restore) {
    const fed = fedBySources(graph.nodes);
    for (const [id, task] of tasks) {
      // Tasks no source feeds compute constant rows: no state, they start over.
      if (!fed.has(id)) continue;
      const node = byId.get(id)!;
      if (task instanceof Task && node.kind === 'operator') {
        const constant = node.inputs.flatMap((input, i) => (fed.has(input.id) ? [] : [i]));
        if (constant.length > 0) task.skipRowsOf(constant);
      }
      if (!(id in options.restore)) {
        throw new TollstreamError('SQL_INPUT', `the checkpoint has no state for ${id}: it was taken from a different query`, { context: { task: id } });
      }
      const state = options.restore[id];
      if (task instanceof SourceTask || task instanceof LiveSourceTask) task.restore(state);
      else task.operator.restoreState(state);
    }
  }
  for (const node of graph.nodes) {
    if (node.kind !== 'operator') continue;
    const task = tasks.get(node.id) as Task;
    node.inputs.forEach((input, i) => tasks.get(input.id)!.downstream.push({ queue: task.queue, input: i }));
  }
  await Promise.all([...tasks.values()].map((t) => t.run()));
  const maxQueueDepth: Record<string, number> = {};
  for (const [id, t] of tasks) if (t instanceof Task) maxQueueDepth[`${id} ${t.operator.description}`] = t.queue.maxDepth;
  return { maxQueueDepth };
}
