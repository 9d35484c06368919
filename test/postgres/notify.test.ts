/** The notifications conformance suite on PostgreSQL, each test in schemas of its own (dropped after). */
import crypto from 'node:crypto';
import { describeNotifyConformance } from '../../src/notify/conformance.ts';
import { openPostgresNotify, publishToPostgresNotify, type PostgresNotify } from '../../src/notify/index.ts';
import { openPostgresTables } from '../../src/tables/index.ts';
import { postgresSchema, postgresUrl } from './server.ts';

describeNotifyConformance(
  'PostgreSQL',
  async (options) => {
    const schema = `n_${crypto.randomBytes(6).toString('hex')}`;
    const tablesSchema = `${schema}_tables`;
    const open = () => openPostgresNotify({ connectionString: postgresUrl(), schema, ...options });
    const notify = await open();
    const opened: PostgresNotify[] = [notify];
    // The tables a function commits to, in another schema of the same database: tx.publish writes the notifications' outbox.
    const store = await openPostgresTables({ connectionString: postgresUrl(), schema: tablesSchema });
    publishToPostgresNotify(store, { schema });
    await store.createTable('state', { ifNotExists: true });
    return {
      notify,
      publishInTransaction: (topic, message, publishOptions, thenFail) =>
        store.transaction(async (tx) => {
          await tx.put('state', { pk: 'last' }, { key: publishOptions.idempotencyKey });
          const result = await tx.publish(topic, message, publishOptions);
          if (thenFail) throw new Error('the transaction fails after publishing');
          return result;
        }),
      openPeer: async () => {
        const peer = await open();
        opened.push(peer);
        return peer;
      },
      async cleanup() {
        for (const n of opened) await n.close();
        await store.close();
        await postgresSchema().admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${tablesSchema}" CASCADE`);
      },
    };
  },
  { sharedByNodes: true },
);
