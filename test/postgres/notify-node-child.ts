/**
 * A node's notifications in a process of its own, for the test that kills one mid-delivery:
 * `notify-node-child.ts <postgres url> <schema> <claimMs>`. Prints `ready` once its dispatcher runs; it never
 * gives up on an attempt by itself (the test kills it while one is in flight).
 */
import { openPostgresNotify } from '../../src/notify/index.ts';

const [url, schema, claimMs] = process.argv.slice(2);
const notify = await openPostgresNotify({
  connectionString: url!,
  schema: schema!,
  nodeName: 'doomed',
  claimMs: Number(claimMs),
  pollIntervalMs: 50,
  retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 600_000 },
});
notify.start();
process.stdout.write('ready\n');
