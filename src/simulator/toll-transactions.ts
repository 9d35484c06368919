/**
 * The toll transaction, the data the shipped apps are built on, as the simulator generates it: its shape, the
 * stream producers write it to and the warehouse table it is delivered into. The platform names none of them;
 * the shipped apps declare the stream and the table (`App.streams`, `App.warehouseTables`).
 */
import type { DeclaredStream } from '../config/index.ts';
import { SOURCE_COLUMN_SCHEMAS, type TableSchema } from '../warehouse/index.ts';

/** A toll transaction as roadside equipment sends it to the stream `toll_transactions`: one row of the table below. */
export interface TollTransaction {
  readonly transaction_id: string;
  readonly customer_id: string;
  readonly tag_id: string;
  readonly plate: string;
  readonly plaza_id: string;
  /** 1 or more. */
  readonly lane: number;
  /** 1 (motorcycle) to 5 (heavy truck). */
  readonly vehicle_class: number;
  /** Integer cents, 0 or more; money is never a float. */
  readonly amount_cents: number;
  /** ISO 4217 code, three upper-case letters. */
  readonly currency: string;
  /** ISO 8601 with a zone (`Z` or `±hh:mm`). */
  readonly event_time: string;
}

export const TOLL_TRANSACTIONS: TableSchema = {
  name: 'toll_transactions',
  description: 'One row per toll transaction delivered from the stream toll_transactions.',
  columns: [
    { name: 'transaction_id', type: 'varchar', description: 'Unique id of the transaction.' },
    { name: 'customer_id', type: 'varchar', nullable: true, description: 'Account of the customer; null for pay-by-plate.' },
    { name: 'tag_id', type: 'varchar', nullable: true, description: 'Transponder read at the lane; null when none was read.' },
    { name: 'plate', type: 'varchar', nullable: true, description: 'Licence plate read at the lane.' },
    { name: 'plaza_id', type: 'varchar', description: 'Toll plaza (station), e.g. P07.' },
    { name: 'lane', type: 'integer', min: 0, max: 1000, description: 'Lane number at the plaza.' },
    { name: 'vehicle_class', type: 'smallint', min: 1, max: 5, description: '1 motorcycle, 2 car, 3 light truck, 4 bus, 5 heavy truck.' },
    { name: 'amount_cents', type: 'bigint', description: 'Toll charged, in integer cents of `currency`.' },
    { name: 'currency', type: 'varchar', description: 'ISO 4217 code, e.g. USD.' },
    { name: 'event_time', type: 'timestamp', description: 'When the vehicle passed, UTC (millisecond precision).' },
    ...SOURCE_COLUMN_SCHEMAS,
  ],
};

/**
 * The stream the tolls are written to, named `name` (the shipped apps read `delivery.stream`): 2 shards, a
 * producer's retry of a toll dropped within an hour by its `transaction_id`.
 */
export function tollTransactionsStream(name: string = TOLL_TRANSACTIONS.name): DeclaredStream {
  return { name, shardCount: 2, dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 3600 } };
}
