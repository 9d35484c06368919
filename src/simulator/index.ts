/**
 * The toll traffic simulator: deterministic, realistic ABC Tolls traffic, and the oracle of what the system
 * should conclude from it.
 */
export { TrafficGenerator, type TrafficOptions, type GeneratedRecord, type PlantedDrop, type PlantedSpend } from './generator.ts';
export { TOLL_TRANSACTIONS, tollTransactionsStream, type TollTransaction } from './toll-transactions.ts';
export { SpendOracle, monthKeyFn, type Breach } from './oracle.ts';
export { VEHICLE_CLASSES, type Plaza, type Customer, type Vehicle, type VehicleClass } from './model.ts';
export { Random } from '../core/random.ts';
export { kinesisSink, nativeSink, fileSink, type Sink, type SinkResult } from './sinks.ts';
export { runSimulation, type SimulationOptions, type SimulationStats } from './run.ts';
export { runSimulateCommand, SIMULATE_HELP, UsageError } from './command.ts';
