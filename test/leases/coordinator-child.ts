/**
 * One lease owner in a process of its own, for the kill -9 test: a coordinator on the PostgreSQL lease table
 * that prints `start KEY` when it takes a lease's work and `stop KEY REASON` when it stops it.
 *   coordinator-child.ts URL SCHEMA OWNER LEASE_MS RENEW_MS
 */
import { LeaseCoordinator, openPostgresLeaseStore } from '../../src/leases/index.ts';

const [url, schema, owner, leaseMs, renewMs] = process.argv.slice(2);
if (!url || !schema || !owner || !leaseMs || !renewMs) throw new Error('usage: coordinator-child.ts URL SCHEMA OWNER LEASE_MS RENEW_MS');
// As the parent's owners: a statement may take up to three rounds on a loaded machine before it counts as failed.
const store = await openPostgresLeaseStore({ connectionString: url, schema, timeoutMs: Number(renewMs) * 3 });
const coordinator = new LeaseCoordinator({
  store,
  owner,
  leaseMs: Number(leaseMs),
  renewMs: Number(renewMs),
  onAcquired: (key) => void process.stdout.write(`start ${key}\n`),
  onLost: (key, reason) => void process.stdout.write(`stop ${key} ${reason}\n`),
});
await coordinator.start();
process.stdout.write('ready\n');
