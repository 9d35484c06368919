/**
 * The Tollstream server (`tollstream up`) as a child process, for `npm run cluster:local`, the tests and the
 * benchmarks: each server runs in its own process, so a load generator never shares an event loop with the
 * server it measures, and a crash test can SIGKILL it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ServerProcess {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Sends a signal without waiting. */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines the process wrote on stderr (for failure messages). */
  stderrTail(): string;
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SpawnReadyOptions {
  readonly args: readonly string[];
  /** Matches the line that announces readiness; group 1 is the base URL. */
  readonly readyLine: RegExp;
  readonly healthPath?: string;
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly label: string;
  /** A command that runs node for us (it must exec it, so the pid is node's), e.g. `['prlimit', '--nofile=64']`. */
  readonly wrapper?: readonly string[];
  /** A file descriptor the child's stderr goes to instead of a pipe (`stderrTail` is then empty). */
  readonly stderrFd?: number;
}

/** Starts `node` with `args` and resolves once stdout printed `readyLine` (and `healthPath` answers 200, if given). */
export async function spawnUntilReady(options: SpawnReadyOptions): Promise<ServerProcess> {
  const [command, ...commandArgs] = [...(options.wrapper ?? []), process.execPath, ...options.args];
  const child: ChildProcess = spawn(command!, commandArgs, {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', options.stderrFd ?? 'pipe'],
  });
  const stderrLines: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrLines.push(...chunk.split('\n').filter((l) => l !== ''));
    if (stderrLines.length > 40) stderrLines.splice(0, stderrLines.length - 40);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const stderrTail = () => stderrLines.join('\n');

  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.label} did not announce readiness within ${options.timeoutMs} ms; stderr:\n${stderrTail()}`));
    }, options.timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      const match = options.readyLine.exec(buffered);
      if (match?.[1]) {
        clearTimeout(timer);
        buffered = '';
        resolve(match[1]);
      } else if (buffered.length > 65_536) {
        buffered = buffered.slice(-4096);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${options.label} exited (code ${code}, signal ${signal}) before it was ready; stderr:\n${stderrTail()}`));
    });
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout!.resume();

  if (options.healthPath) await waitForHealth(url + options.healthPath, options.timeoutMs, exited);

  const port = Number(new URL(url).port);
  const pid = child.pid ?? -1;
  return {
    url,
    port,
    pid,
    exited,
    stderrTail,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForHealth(url: string, timeoutMs: number, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`server exited while waiting for ${url}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TollstreamProcessOptions {
  readonly dataDir: string;
  /** 0 lets the server pick a free port. */
  readonly port: number;
  /** @default 'warn' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Flags for node itself, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** More `tollstream up` flags. */
  readonly extraArgs?: readonly string[];
  /** @default 60000 */
  readonly timeoutMs?: number;
  /** The server's limit on open files (soft and hard, set with util-linux `prlimit`). @default the caller's */
  readonly openFilesLimit?: number;
  /** Runs node through this command, e.g. `['fiu-run', '-x']` or `['prlimit', '--nofile=64']`. */
  readonly wrapper?: readonly string[];
  /** Sends the server's stderr to this file descriptor instead of a pipe. */
  readonly stderrFd?: number;
}

/**
 * The Node.js flags the server runs with, as `npm start` and the `tollstream` command's shebang give them: a
 * larger young generation (64 MiB semi-spaces), so the garbage collector promotes less of the per-batch
 * garbage (measured: about 10% less server CPU per toll and a lower PutRecords p99 at 10,000 tolls/s).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** Starts `tollstream up` and resolves once it printed its ready line and `GET /health` answers 200. */
export function startTollstream(options: TollstreamProcessOptions): Promise<ServerProcess> {
  return spawnUntilReady({
    label: 'tollstream',
    args: [
      ...SERVER_NODE_FLAGS,
      ...(options.nodeArgs ?? []),
      path.join(REPO_ROOT, 'bin/tollstream.mjs'),
      'up',
      '--data-dir',
      options.dataDir,
      '--port',
      String(options.port),
      '--log-level',
      options.logLevel ?? 'warn',
      ...(options.extraArgs ?? []),
    ],
    readyLine: /tollstream ready at (http:\/\/[^\s]+)/,
    healthPath: '/health',
    timeoutMs: options.timeoutMs ?? 60_000,
    env: withoutTollstreamSettings(process.env),
    ...(options.openFilesLimit !== undefined ? { wrapper: ['prlimit', `--nofile=${options.openFilesLimit}:${options.openFilesLimit}`, '--', ...(options.wrapper ?? [])] } : options.wrapper ? { wrapper: options.wrapper } : {}),
    ...(options.stderrFd !== undefined ? { stderrFd: options.stderrFd } : {}),
  });
}

/** The server under test runs with its defaults and our flags only, whatever the caller's shell exports. */
export function withoutTollstreamSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('TOLLSTREAM_')));
}
