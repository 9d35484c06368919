import { describe, expect, it } from 'vitest';
import { describeDeliveryRedrive } from '../delivery/redrive-suite.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';
import { postgresSchema } from './server.ts';

describeDeliveryRedrive('PostgreSQL', async () => {
  const place = postgresSchema('redrive');
  const warehouse = await place.open();
  await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  return { warehouse, cleanup: () => place.cleanup() };
});

describe('a PostgreSQL warehouse created before failed records could be sent again', () => {
  it('gains the redriven_at column at start, keeping its error rows listed', async () => {
    const place = postgresSchema('oldredrive');
    try {
      await place.admin(`CREATE SCHEMA ${place.schema}`);
      await place.admin(`CREATE TABLE ${place.schema}._delivery_errors (stream TEXT NOT NULL, table_name TEXT NOT NULL, shard_id TEXT NOT NULL, sequence_number TEXT NOT NULL,
        error_type TEXT NOT NULL, error_code TEXT NOT NULL, error_message TEXT NOT NULL, raw_data_base64 TEXT NOT NULL, arrival_time TIMESTAMPTZ NOT NULL, failed_at TIMESTAMPTZ NOT NULL)`);
      await place.admin(`INSERT INTO ${place.schema}._delivery_errors VALUES ('s', 'toll_transactions', 'a', '1', 'format-conversion-failed', 'invalid-json', 'no', 'eA==', '2026-11-26 10:00:00Z', '2026-11-26 10:00:01Z')`);
      const warehouse = await place.open();
      try {
        await warehouse.ensureSchema();
        await warehouse.ensureSchema();
        expect(await warehouse.deliveryErrors()).toMatchObject([{ stream: 's', shardId: 'a', sequenceNumber: '1', errorCode: 'invalid-json', redrivenAt: null }]);
      } finally {
        await warehouse.close();
      }
    } finally {
      await place.cleanup();
    }
  });
});
