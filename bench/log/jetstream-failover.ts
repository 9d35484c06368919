/**
 * How long appends stall when the nats-server leading a shard's stream is killed (kill -9), on a 3-server
 * JetStream cluster started on 127.0.0.1 (Debian's nats-server, temp dirs, removed after).
 *
 *   node bin/run-ts.mjs bench/log/jetstream-failover.ts [--runs 3] [--request-timeout-ms 5000] [--client-on leader|follower] [--signal SIGKILL|SIGTERM]
 *
 * One shard, replicas 3. One appender puts one record at a time, each awaited, and a new one at once after a
 * failure (as a producer retrying at once would). The leader of the shard's JetStream stream is killed while it
 * runs. Printed per run: when a surviving server first names a new stream leader (JetStream's election, polled
 * every 50 ms on a connection of its own), when the first append after the kill was acknowledged, the errors the
 * appender met meanwhile with how long each took, and what became of one append sent once right after the kill (a
 * producer's first try). `--client-on` names the server put first in the log's server list: the leader to be killed
 * (the client then reconnects too) or a follower; the NATS client shuffles its list, so this is a preference only.
 */
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { openJetStreamLog } from '../../src/log/index.ts';
import { startNatsCluster } from '../../bin/nats-cluster.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'request-timeout-ms': { type: 'string', default: '5000' },
    'client-on': { type: 'string', default: 'follower' },
    signal: { type: 'string', default: 'SIGKILL' },
  },
});
const RUNS = Math.min(Number(values.runs), 20);
const REQUEST_TIMEOUT_MS = Number(values['request-timeout-ms']);
const CLIENT_ON = values['client-on'] === 'leader' ? 'leader' : 'follower';
/** SIGKILL, a crash; SIGTERM, a clean stop (`systemctl stop`). */
const SIGNAL = values.signal === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL';

interface Failure {
  message: string;
  count: number;
  /** When the first and the last of them was sent, after the kill, and the longest any took, in ms. */
  firstSentMs: number;
  lastSentMs: number;
  longestMs: number;
}

/** Failures in a row with the same message are one line. */
function note(failures: Failure[], message: string, sentMs: number, tookMs: number): void {
  const last = failures.at(-1);
  if (last && last.message === message) {
    last.count++;
    last.lastSentMs = sentMs;
    last.longestMs = Math.max(last.longestMs, tookMs);
  } else {
    failures.push({ message, count: 1, firstSentMs: sentMs, lastSentMs: sentMs, longestMs: tookMs });
  }
}

interface RunResult {
  single: string;
  electedAfterMs: number | undefined;
  firstAckAfterMs: number | undefined;
  failures: Failure[];
}

async function once(run: number): Promise<RunResult> {
  await using cluster = await startNatsCluster();
  const prefix = `fo${process.pid}x${run}`;
  const admin = await connect({ servers: [...cluster.urls], timeout: 5000 });
  try {
    const jsm = await jetstreamManager(admin, { timeout: 5000 });
    const setup = await openJetStreamLog({ servers: [...cluster.urls], prefix, replicas: 3, requestTimeoutMs: 20_000 });
    await setup.createStream('tolls', { shardCount: 1 });
    await setup.append('tolls', [{ partitionKey: 'p', data: Buffer.from('{"warm":1}') }]);
    await setup.close();
    const jsStream = `${prefix}_tolls_0`;
    const leaderName = (await jsm.streams.info(jsStream)).cluster?.leader;
    const leader = cluster.servers.findIndex((s) => s.name === leaderName);
    if (leader < 0) throw new Error(`no leader for ${jsStream}`);
    const follower = cluster.servers.findIndex((_, i) => i !== leader);
    const clientUrl = cluster.servers[CLIENT_ON === 'leader' ? leader : follower]!.url;
    const log = await openJetStreamLog({ servers: [clientUrl, ...cluster.urls.filter((u) => u !== clientUrl)], prefix, replicas: 3, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    // The admin connection must survive the kill: reconnect it to a survivor first.
    await admin.close();
    const probe = await connect({ servers: cluster.urls.filter((_, i) => i !== leader), timeout: 5000 });
    const probeJsm = await jetstreamManager(probe, { timeout: 1000 });
    try {
      for (let i = 0; i < 20; i++) await log.append('tolls', [{ partitionKey: 'p', data: Buffer.from(`{"before":${i}}`) }]);
      let killedAt = 0;
      let firstAckAt: number | undefined;
      let electedAt: number | undefined;
      const failures: Failure[] = [];
      const appender = (async () => {
        for (let i = 0; ; i++) {
          const sent = performance.now();
          try {
            const [r] = await log.append('tolls', [{ partitionKey: 'p', data: Buffer.from(`{"n":${i}}`) }]);
            if (!r!.ok) throw new Error(`${r!.errorCode}: ${r!.errorMessage}`);
            if (killedAt > 0 && sent >= killedAt) {
              firstAckAt = performance.now();
              return;
            }
          } catch (err) {
            if (killedAt > 0) note(failures, (err as Error).message.slice(0, 100), sent - killedAt, performance.now() - sent);
          }
        }
      })();
      const elections = (async () => {
        while (killedAt === 0) await new Promise((r) => setTimeout(r, 10));
        while (electedAt === undefined && performance.now() - killedAt < 60_000) {
          try {
            const info = await probeJsm.streams.info(jsStream);
            const now = info.cluster?.leader;
            if (now && now !== leaderName) electedAt = performance.now();
          } catch {
            // no leader yet: the request times out or is refused
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      killedAt = performance.now();
      await cluster.stop(leader, SIGNAL);
      // One append sent once, right after the kill, as a producer's first try: answered how, and when.
      const single = log.append('tolls', [{ partitionKey: 'p', data: Buffer.from('{"single":1}') }]).then(
        ([r]) => ({ ok: r!.ok, afterMs: performance.now() - killedAt, message: r!.ok ? '' : r!.errorMessage }),
        (err: unknown) => ({ ok: false, afterMs: performance.now() - killedAt, message: (err as Error).message }),
      );
      await Promise.race([appender, new Promise((r) => setTimeout(r, 60_000))]);
      await elections;
      const one = await single;
      return {
        single: `${one.ok ? 'acknowledged' : `failed (${one.message.slice(0, 80)})`} after ${Math.round(one.afterMs)} ms`,
        electedAfterMs: electedAt === undefined ? undefined : Math.round(electedAt - killedAt),
        firstAckAfterMs: firstAckAt === undefined ? undefined : Math.round(firstAckAt - killedAt),
        failures,
      };
    } finally {
      await log.close().catch(() => undefined);
      await probe.close();
    }
  } finally {
    if (!admin.isClosed()) await admin.close();
  }
}

console.log(`${SIGNAL} to the shard's stream leader; client on the ${CLIENT_ON}; requestTimeoutMs ${REQUEST_TIMEOUT_MS}`);
for (let run = 1; run <= RUNS; run++) {
  const r = await once(run);
  console.log(`run ${run}: new stream leader named after ${r.electedAfterMs ?? '-'} ms; first append acknowledged after ${r.firstAckAfterMs ?? '-'} ms; one append sent at the kill ${r.single}`);
  for (const f of r.failures) {
    console.log(`  ${f.count} failed, sent +${Math.round(f.firstSentMs)} to +${Math.round(f.lastSentMs)} ms, longest ${Math.round(f.longestMs)} ms: ${f.message}`);
  }
}
