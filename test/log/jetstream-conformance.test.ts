/**
 * The log conformance suite against the JetStream backend on a real 3-server JetStream cluster on loopback
 * (Debian's nats-server), with streams replicated 3 ways. Each test gets its own prefix, so its JetStream
 * streams never meet another test's; the cluster is shared by the file.
 */
import { afterAll } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describeStreamLogConformance } from '../../src/log/conformance.ts';
import { openJetStreamLog } from '../../src/log/index.ts';
import type { JetStreamLogOptions, JetStreamStreamLog } from '../../src/log/index.ts';
import { startNatsCluster } from '../../bin/nats-cluster.ts';
import type { NatsCluster } from '../../bin/nats-cluster.ts';

let cluster: Promise<NatsCluster> | undefined;
afterAll(async () => {
  if (cluster) await (await cluster).close();
});

let tests = 0;

/** Deletes the JetStream streams a test's log created, so the cluster stays small for the next tests. */
async function removeStreams(urls: readonly string[], prefix: string): Promise<void> {
  const nc = await connect({ servers: [...urls] });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

describeStreamLogConformance(
  'JetStream, 3 servers, 3 replicas',
  async () => {
    cluster ??= startNatsCluster();
    const { urls } = await cluster;
    // Real time plus what the tests skipped ahead: opening a log takes a moment, and records stamped with a
    // clock frozen when the harness was made would seem to come from before the test.
    let skipped = 0;
    const prefix = `t${process.pid}x${++tests}`;
    // A loaded test machine can take seconds to place a 3-replica stream: more than the 5 s default.
    const options: JetStreamLogOptions = { servers: urls, replicas: 3, prefix, requestTimeoutMs: 20_000, now: () => Date.now() + skipped };
    let log: JetStreamStreamLog = await openJetStreamLog(options);
    return {
      get log() {
        return log;
      },
      async reopen() {
        await log.close();
        log = await openJetStreamLog(options);
        return log;
      },
      advanceClock(ms: number) {
        skipped += ms;
      },
      enforceRetention: () => log.enforceRetention(),
      async cleanup() {
        await log.close();
        await removeStreams(urls, prefix);
      },
    };
  },
  { clock: true, retention: { retentionBytes: 16 * 1024 } },
);
