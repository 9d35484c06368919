import { describeWarehouseConformance } from '../../src/warehouse/conformance.ts';
import { postgresSchema } from './server.ts';

describeWarehouseConformance('PostgreSQL', async () => {
  const place = postgresSchema('conf');
  return { open: (options = {}) => place.open(options), cleanup: () => place.cleanup() };
});
