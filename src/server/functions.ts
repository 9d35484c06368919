/**
 * What stream functions share inside the server: tables and notifications in `<dataDir>/tables.db`, one
 * functions runtime (the ABC Tolls functions and the deployed ones, so `/metrics` counts them all), and the
 * deployed functions with their HTTP routes (`/v1/functions`, `/v1/tables`). Steps to undo go on `undo`.
 */
import path from 'node:path';
import type { TollstreamConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import { bundleHandler, FunctionDeployments, FunctionLogs, FunctionsRuntime } from '../functions/index.ts';
import { createFunctionsApi, createTablesApi, type Authenticator, type RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';
import { openNotify, type MirrorOptions, type Notify } from '../notify/index.ts';
import { openTables, type Tables } from '../tables/index.ts';

export interface FunctionsState {
  readonly tables: Tables;
  readonly notify: Notify;
  readonly functions: FunctionsRuntime;
  readonly logs: FunctionLogs;
  readonly tablesPath: string;
}

export function openFunctionsState(
  deps: { log: StreamLog; config: TollstreamConfig; logger: Logger; metrics: Registry; mirror?: MirrorOptions | undefined },
  undo: Array<() => Promise<void> | void>,
): FunctionsState {
  const { log, config, logger } = deps;
  const tablesPath = path.join(config.dataDir, 'tables.db');
  // tables.db holds what the log cannot give back (customers, subscriptions, the outbox): never start it empty by accident.
  const tables = openTables({ path: tablesPath, logger: logger.child({ component: 'tables' }), refuseLostFile: true });
  undo.unshift(() => tables.close());
  const notify = openNotify({ tables, logger, ...(deps.mirror ? { mirror: deps.mirror } : {}) });
  undo.unshift(() => notify.stop());
  const logs = new FunctionLogs();
  const functions = new FunctionsRuntime({ log, tables, logger: logs.capture(logger.child({ component: 'functions' })) });
  undo.unshift(() => functions.stop());
  registerFunctionMetrics(deps.metrics, functions);
  return { tables, notify, functions, logs, tablesPath };
}

/** Every mapping's counters (the ABC Tolls functions' and the deployed ones'), labelled by mapping. */
function registerFunctionMetrics(registry: Registry, functions: FunctionsRuntime): void {
  const invocations = registry.counter('tollstream_function_invocations_total', 'Handler invocations, by mapping.', ['mapping']);
  const errors = registry.counter('tollstream_function_errors_total', 'Failed handler invocations, by mapping.', ['mapping']);
  const retries = registry.counter('tollstream_function_retries_total', 'Batches retried after a failure, by mapping.', ['mapping']);
  const processed = registry.counter('tollstream_function_records_total', 'Records whose effects are committed, by mapping.', ['mapping']);
  const onFailure = registry.counter('tollstream_function_on_failure_records_total', 'Records given up on and sent to the on-failure destination, by mapping.', ['mapping']);
  const age = registry.gauge('tollstream_function_iterator_age_seconds', 'Now minus the arrival time of the last record processed, in seconds, by mapping.', ['mapping']);
  registry.onCollect(() => {
    for (const family of [invocations, errors, retries, processed, onFailure, age]) family.reset();
    for (const s of functions.stats()) {
      invocations.labels(s.name).inc(s.invocations);
      errors.labels(s.name).inc(s.errors);
      retries.labels(s.name).inc(s.retries);
      processed.labels(s.name).inc(s.recordsProcessed);
      onFailure.labels(s.name).inc(s.recordsSentToOnFailure);
      age.labels(s.name).set(s.iteratorAgeMs / 1000);
    }
  });
}

/** Starts the deployed functions (stored ones, then the config file's) and returns their routes for the gateway. */
export async function startDeployedFunctions(
  deps: { state: FunctionsState; config: TollstreamConfig; authenticator: Authenticator; logger: Logger },
  undo: Array<() => Promise<void> | void>,
): Promise<RouteModule[]> {
  const { state, config, authenticator } = deps;
  const logger = deps.logger.child({ component: 'functions' });
  const deployments = new FunctionDeployments({
    dir: path.join(config.dataDir, 'functions'),
    tablesPath: state.tablesPath,
    tables: state.tables,
    runtime: state.functions,
    logs: state.logs,
    onCommit: () => state.notify.wake(),
    logger,
  });
  undo.unshift(() => deployments.close());
  await deployments.open();
  const declared = [];
  for (const { name, stream, handler, ...settings } of config.functions.deploy) declared.push({ name, stream, handler, settings, code: await bundleHandler(handler) });
  await deployments.reconcile(declared);
  state.notify.start();
  const routeOptions = { operatorAuth: (header: string | undefined) => authenticator.verifyBearer(header), logger };
  logger.info('deployed functions running', { functions: deployments.list().map((f) => `${f.name} (${f.state})`) });
  return [createFunctionsApi(deployments, routeOptions), createTablesApi(state.tables, routeOptions)];
}
