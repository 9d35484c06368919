/** The AWS front's context over a log, for benchmarks that run Kinesis operations without HTTP. */
import type { AwsContext } from '../../src/gateway/aws/context.ts';
import { createIteratorCodec } from '../../src/gateway/aws/iterators.ts';
import type { StreamLog } from '../../src/log/index.ts';

export function benchAwsContext(log: StreamLog): AwsContext {
  return {
    log,
    iterators: createIteratorCodec('bench'),
    region: 'us-east-1',
    accountId: '000000000000',
    randomPartitionKey: () => 'k',
    now: Date.now,
    shutdown: new AbortController().signal,
    deliveries: () => [],
    subscription: { lifetimeMs: 300_000, heartbeatMs: 5_000 },
  };
}
