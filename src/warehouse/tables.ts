/**
 * The tables of the warehouse, as data: backends turn them into DDL, delivery parses records against them,
 * and docs/warehouse.md describes them.
 */
import { TollstreamError } from '../core/errors.ts';
import type { ColumnSchema, LoadBatch, Row, TableSchema } from './types.ts';

/** The columns every delivered table gets from the log, after the record's own fields. */
export const SOURCE_COLUMNS = ['arrival_time', 'shard_id', 'sequence_number'] as const;

/** Those columns as a delivered table declares them, last in its column list. */
export const SOURCE_COLUMN_SCHEMAS: readonly ColumnSchema[] = [
    { name: 'arrival_time', type: 'timestamp', description: 'When the log accepted the record, UTC.' },
    { name: 'shard_id', type: 'varchar', description: 'Log shard the record was read from.' },
    { name: 'sequence_number', type: 'varchar', description: 'Log sequence number of the record within its shard.' },
];

export const DELIVERY_POSITIONS: TableSchema = {
  name: '_delivery_positions',
  description: 'How far each delivery has loaded each shard; written in the same transaction as the rows.',
  columns: [
    { name: 'stream', type: 'varchar', description: 'Source log stream.' },
    { name: 'table_name', type: 'varchar', description: 'Destination table.' },
    { name: 'shard_id', type: 'varchar', description: 'Source shard.' },
    { name: 'sequence_number', type: 'varchar', description: 'Last sequence number loaded (or sent to the error table).' },
    { name: 'newest_arrival_time', type: 'timestamp', nullable: true, description: 'Newest arrival time among loaded rows of the shard.' },
    { name: 'loaded_at', type: 'timestamp', description: 'When the last batch touching the shard committed.' },
  ],
  primaryKey: ['stream', 'table_name', 'shard_id'],
};

export const DELIVERY_ERRORS: TableSchema = {
  name: '_delivery_errors',
  description: 'Records that could not be delivered, with the reason and their raw bytes (base64).',
  columns: [
    { name: 'stream', type: 'varchar', description: 'Source log stream.' },
    { name: 'table_name', type: 'varchar', description: 'Destination table the record was meant for.' },
    { name: 'shard_id', type: 'varchar', description: 'Source shard.' },
    { name: 'sequence_number', type: 'varchar', description: 'Source sequence number.' },
    { name: 'error_type', type: 'varchar', description: 'processing-failed, format-conversion-failed or destination-failed.' },
    { name: 'error_code', type: 'varchar', description: 'A short stable reason, e.g. invalid-json, schema-mismatch.' },
    { name: 'error_message', type: 'varchar', description: 'What was wrong, for a person.' },
    { name: 'raw_data_base64', type: 'varchar', description: 'The record as read from the log, base64.' },
    { name: 'arrival_time', type: 'timestamp', description: 'When the log accepted the record.' },
    { name: 'failed_at', type: 'timestamp', description: 'When delivery gave up on the record.' },
    { name: 'redriven_at', type: 'timestamp', nullable: true, description: 'When the record was sent again (loaded, or listed anew with its new error); null while it waits.' },
  ],
};

/**
 * Columns added to a table after its first release: `ensureSchema` adds them to a warehouse created before
 * (CREATE TABLE IF NOT EXISTS leaves an existing table as it is). Each is nullable and last in its table.
 */
export const ADDED_COLUMNS: ReadonlyArray<{ readonly table: TableSchema; readonly column: string }> = [{ table: DELIVERY_ERRORS, column: 'redriven_at' }];

/** A batch's failed records as rows of `_delivery_errors`, the same for every backend. */
export function deliveryErrorRows(batch: Pick<LoadBatch, 'table' | 'errors'> & { readonly source: { readonly stream: string } }, failedAt: number): Row[] {
  return (batch.errors ?? []).map((e) => ({
    stream: batch.source.stream,
    table_name: batch.table,
    shard_id: e.shardId,
    sequence_number: e.sequenceNumber,
    error_type: e.errorType,
    error_code: e.errorCode,
    error_message: e.errorMessage,
    raw_data_base64: Buffer.from(e.rawData).toString('base64'),
    arrival_time: e.arrivalTime,
    failed_at: failedAt,
    redriven_at: null,
  }));
}

/**
 * The platform's tables, which `ensureSchema` always creates: the delivery's bookkeeping. The tables of the data
 * are declared by apps (`ensureSchema(extra)`).
 */
export const TABLES: readonly TableSchema[] = [DELIVERY_POSITIONS, DELIVERY_ERRORS];

/** The platform's table `name`, if it is one. */
export function tableSchema(name: string): TableSchema | undefined {
  return TABLES.find((t) => t.name === name);
}

/** The platform's tables followed by `extra` (declared by apps); a name given twice is refused. */
export function warehouseTables(extra: readonly TableSchema[]): readonly TableSchema[] {
  const tables = [...TABLES];
  for (const table of extra) {
    const taken = tables.find((t) => t.name === table.name);
    if (taken === table) continue;
    if (taken) throw new TollstreamError('CONFIG_INVALID', `two warehouse tables are named '${table.name}'`, { context: { table: table.name } });
    tables.push(table);
  }
  return tables;
}

/** `name` among `tables`, or INVALID_ARGUMENT naming the tables there are. */
export function knownTable(tables: readonly TableSchema[], name: string): TableSchema {
  const schema = tables.find((t) => t.name === name);
  if (!schema) {
    throw new TollstreamError('INVALID_ARGUMENT', `unknown warehouse table '${name}'; known tables: ${tables.map((t) => t.name).join(', ')}`, { context: { table: name } });
  }
  return schema;
}
