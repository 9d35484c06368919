import { describeDeliveryRedrive } from '../delivery/redrive-suite.ts';
import { postgresSchema } from './server.ts';

describeDeliveryRedrive('PostgreSQL', async () => {
  const place = postgresSchema('redrive');
  const warehouse = await place.open();
  await warehouse.ensureSchema();
  return { warehouse, cleanup: () => place.cleanup() };
});
