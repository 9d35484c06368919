import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeWarehouseConformance } from './conformance.ts';
import { openDuckDBWarehouse } from './duckdb.ts';

describeWarehouseConformance('DuckDB', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-warehouse-'));
  return {
    open: (options = {}) => openDuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb'), threads: 1, ...options }),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
});
