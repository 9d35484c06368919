/**
 * Streaming SQL: the one public door. `runQuery` runs a script over bounded inputs; `parse` gives the AST;
 * `explainQuery` the physical plan. `runQueryCommand` is the `tollstream query` command.
 */
export { explainQuery, parse, runQuery } from './run-query.ts';
export type { QueryInput, RunQueryOptions, RunQueryResult } from './run-query.ts';
export type { QueryDialect } from './ast/index.ts';
export type { ErrorRow } from './runtime/error-stream.ts';
export { ERROR_STREAM } from './runtime/error-stream.ts';
export { runQueryCommand } from './cli-query.ts';
export type { CommandIo } from './cli-query.ts';
export type * as Ast from './ast/index.ts';
export { planLiveQuery, runLiveQuery, undeclaredInputs } from './run-live.ts';
export type { InferredColumns, LiveItem, LiveOutput, LivePlan, LivePlanOptions, LiveReferenceStream, LiveRunOptions, OutputKeyMode, OutputKeys } from './run-live.ts';
export type { ChangelogReferenceTable } from './reference-table.ts';
export { inferColumns } from './inputs.ts';
