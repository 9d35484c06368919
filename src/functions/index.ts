/**
 * Functions triggered by streams (the Lambda role): the one public door.
 */
export { FunctionsRuntime, type FunctionsRuntimeOptions, type RunningMapping } from './runtime.ts';
export { FunctionDeployments, MAX_CODE_BYTES, type DeployRequest, type FunctionDeploymentsOptions, type FunctionInfo, type FunctionSource, type UpdateRequest } from './deployments.ts';
export { FunctionLogs, type FunctionLogLine } from './logs.ts';
export { SharedDefinitions, type SharedDefinitionsOptions } from './shared-definitions.ts';
export { bundleHandler } from './bundle.ts';
export { parseGivenUp, type GivenUpBatch } from './redrive.ts';
export { assertFunctionName, checkFunctionSettings, FUNCTION_LIMIT_DEFAULTS, SETTING_KEYS, type FunctionSettings } from './settings.ts';
export type {
  EventSourceMapping,
  FunctionContext,
  FunctionEvent,
  FunctionHandler,
  FunctionRecord,
  HandlerResult,
  MappingStats,
  ShardLag,
  StartingPosition,
  TransactOptions,
} from './types.ts';
