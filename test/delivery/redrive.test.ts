import fs from 'node:fs/promises';
import { tempDir, openWarehouse } from './helpers.ts';
import { describeDeliveryRedrive } from './redrive-suite.ts';

describeDeliveryRedrive('DuckDB', async () => {
  const dir = await tempDir('tollstream-redrive-');
  return { warehouse: await openWarehouse(dir), cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
});
