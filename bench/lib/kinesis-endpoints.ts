/**
 * Kinesis endpoints for the benchmarks to compare against, each a child process started like the server
 * (bin/processes.ts): kinesalite, and an endpoint that stores nothing.
 */
import path from 'node:path';
import { REPO_ROOT, spawnUntilReady, type ServerProcess } from '../../bin/processes.ts';

/** Starts kinesalite (in-memory store) on 127.0.0.1 and a free port. */
export function startKinesalite(timeoutMs = 30_000): Promise<ServerProcess> {
  return spawnUntilReady({
    label: 'kinesalite',
    args: [path.join(REPO_ROOT, 'bench/lib/kinesalite-server.mjs')],
    readyLine: /kinesalite ready at (http:\/\/[^\s]+)/,
    timeoutMs,
  });
}

/** Starts a Kinesis endpoint that stores nothing and acknowledges every PutRecords of 500 (h2c). */
export function startNullKinesis(timeoutMs = 30_000): Promise<ServerProcess> {
  return spawnUntilReady({
    label: 'null kinesis',
    args: [path.join(REPO_ROOT, 'bench/lib/null-kinesis-server.mjs')],
    readyLine: /null kinesis ready at (http:\/\/[^\s]+)/,
    timeoutMs,
  });
}
