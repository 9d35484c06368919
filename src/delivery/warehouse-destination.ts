/** Delivery into a warehouse table: rows, failed records and positions in one `loadBatch` transaction. */
import { TollstreamError } from '../core/errors.ts';
import type { Warehouse } from '../warehouse/index.ts';
import type { DeliveryDestination, DestinationBatch } from './types.ts';

export function warehouseDestination(warehouse: Warehouse, table: string): DeliveryDestination {
  const schema = warehouse.tableSchema(table);
  if (!schema) throw new TollstreamError('INVALID_ARGUMENT', `unknown warehouse table '${table}'`, { context: { table } });
  return {
    description: `warehouse:${table}`,
    schema,
    positions: (stream) => warehouse.positions(stream, table),
    write: (batch: DestinationBatch) =>
      warehouse.loadBatch({ table, rows: batch.rows, errors: batch.errors, source: { stream: batch.stream, positions: batch.positions, ...(batch.previous ? { previous: batch.previous } : {}) } }),
  };
}
