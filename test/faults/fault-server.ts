/**
 * A server child process for storage fault tests: the log and the HTTP API only (no warehouse, queries or
 * alerts, whose own files would share the injected faults), in a temp data directory, optionally run
 * through `fiu-run -x` (libfiu's POSIX failure points, switched on and off with `fiu-ctrl`) or `prlimit`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultTransportKinesisClient } from '../../bench/lib/kinesis-clients.ts';
import { startTollstream, type ServerProcess } from '../../bin/processes.ts';
import { readWholeStream, type ReadBackRecord } from '../crash/verify.ts';
import { waitFor as waitUntil } from '../support/wait.ts';

export const run = promisify(execFile);

export interface FaultServerOptions {
  /** Runs node through this command (see `startTollstream`). */
  readonly wrapper?: readonly string[];
  /** Runs the server under `fiu-run -x` (libfiu's POSIX failure points), for `FaultServer.fiu`. */
  readonly fiu?: boolean;
  /** The data directory; a new temp directory (removed by `cleanup`) when absent. */
  readonly dataDir?: string;
  /** More config keys, e.g. `{ storage: { maxOpenFiles: 16 } }`. */
  readonly config?: Record<string, unknown>;
  /** @default 'warn' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Where the config file goes. @default the data directory's parent temp dir */
  readonly configDir?: string;
  /** Sends the server's stderr to this file descriptor instead of a pipe. */
  readonly stderrFd?: number;
}

export interface FaultServer {
  readonly server: ServerProcess;
  readonly dataDir: string;
  readonly url: string;
  /** Sends a libfiu remote control command (`enable name=...`, `disable name=...`); needs `fiu: true`. */
  fiu(command: string): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes what the helper created. */
  cleanup(): Promise<void>;
}

export async function startFaultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'tollstream-faults-'));
  const dataDir = options.dataDir ?? path.join(tmp, 'data');
  const configFile = path.join(options.configDir ?? tmp, 'tollstream.config.json');
  const config = {
    streams: [],
    warehouse: { enabled: false },
    queries: { enabled: false },
    alerts: { enabled: false },
    stationAlerts: { enabled: false },
    ...options.config,
  };
  await writeFile(configFile, JSON.stringify(config));
  // libfiu's control fifos go in the temp dir (their default, /tmp/fiu-ctrl-<pid>.*, outlives the process).
  const fiuFifos = path.join(tmp, 'fiu-ctrl');
  const wrapper = options.fiu ? ['fiu-run', '-x', '-f', fiuFifos, ...(options.wrapper ?? [])] : options.wrapper;
  let server: ServerProcess;
  try {
    server = await startTollstream({
      dataDir,
      port: 0,
      logLevel: options.logLevel ?? 'warn',
      extraArgs: ['--config', configFile],
      ...(wrapper ? { wrapper } : {}),
      ...(options.stderrFd !== undefined ? { stderrFd: options.stderrFd } : {}),
    });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    dataDir,
    url: server.url,
    async fiu(command) {
      await run('fiu-ctrl', ['-f', fiuFifos, '-c', command, String(server.pid)]);
    },
    async cleanup() {
      await server.stop(5000);
      await rm(tmp, { recursive: true, force: true });
      if (options.configDir) await rm(configFile, { force: true });
    },
  };
}

export interface PutResult {
  readonly status: number;
  readonly failedRecordCount: number;
  readonly body: string;
}

/** Appends `records` (objects) to `stream` through the native API, one NDJSON request. */
export async function putRecords(url: string, stream: string, records: readonly object[], partitionKeyField = 'key'): Promise<PutResult> {
  const res = await fetch(`${url}/v1/streams/${stream}/records?partitionKeyField=${partitionKeyField}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: records.map((r) => JSON.stringify(r)).join('\n'),
  });
  const body = await res.text();
  let failedRecordCount = -1;
  try {
    failedRecordCount = (JSON.parse(body) as { failedRecordCount?: number }).failedRecordCount ?? -1;
  } catch {
    // not an append result (an error body): -1
  }
  return { status: res.status, failedRecordCount, body };
}

export async function createStream(url: string, name: string, shardCount: number): Promise<void> {
  const res = await fetch(`${url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, shardCount }) });
  if (res.status !== 201) throw new Error(`creating stream ${name}: HTTP ${res.status} ${await res.text()}`);
}

/** Every record of the stream, read back through the Kinesis API (GetShardIterator, GetRecords). */
export async function readStream(url: string, stream: string): Promise<ReadBackRecord[]> {
  const client = defaultTransportKinesisClient(url, { maxAttempts: 3 });
  try {
    return await readWholeStream(client, stream);
  } finally {
    client.destroy();
  }
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls `check` every 100 ms until it returns a value, giving up after `limitMs` with `what` in the error. */
export async function waitFor<T>(what: string, limitMs: number, check: () => Promise<T | undefined>): Promise<T> {
  return waitUntil(what, check, { timeoutMs: limitMs, intervalMs: 100 });
}

/** Descriptors the process holds now (entries of /proc/<pid>/fd). */
export async function openFdCount(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}
