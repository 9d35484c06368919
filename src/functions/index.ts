/**
 * Functions triggered by streams (the Lambda role): the one public door.
 */
export { FunctionsRuntime, type FunctionsRuntimeOptions } from './runtime.ts';
export type {
  EventSourceMapping,
  FunctionContext,
  FunctionEvent,
  FunctionHandler,
  FunctionRecord,
  HandlerResult,
  MappingStats,
  StartingPosition,
  TransactOptions,
} from './types.ts';
