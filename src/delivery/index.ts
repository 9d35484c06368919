/**
 * Delivery (the Firehose role): the one public door. A `DeliveryStream` moves a log stream into a
 * destination (a warehouse table, or a Parquet data lake) exactly once.
 */
export type * from './types.ts';
export { DeliveryStream, type DeliveryStreamOptions, type BufferingHints } from './delivery-stream.ts';
export { warehouseDestination } from './warehouse-destination.ts';
export { backoffDelay, type BackoffOptions } from './backoff.ts';
export { openParquetLake, type ParquetLake, type ParquetLakeOptions, type Manifest, type ManifestFile, type CompactionResult } from './parquet-destination.ts';
export { openSharedParquetLake, type SharedParquetLake, type SharedParquetLakeOptions } from './shared-lake.ts';
export { redriveDeliveryError, type DeliveryRedriveOptions, type DeliveryRedriveResult } from './redrive.ts';
