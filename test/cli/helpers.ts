/**
 * Drives the real `tollstream` command in child processes: `up` as a server, the client commands as one-shot runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO_ROOT, 'bin/tollstream.mjs');

/** The environment of every child: no TOLLSTREAM_* variables of whoever runs the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TOLLSTREAM_')) env[k] = v;
  return { ...env, ...extra };
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tollstream-cli-${label}-`));
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tollstream ARGS...` to completion. */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(options.input ?? '');
  return collect(child);
}

function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface UpProcess {
  readonly url: string;
  /** The whole `tollstream ready at URL (MODE)` line. */
  readonly readyLine: string;
  readonly child: ChildProcess;
  /** Everything written on stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves with the exit once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const READY = /tollstream ready at (http:\/\/\S+)/;

/** Starts `tollstream up --port 0 ...` and resolves with the URL from its ready line. */
export async function startUp(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<UpProcess> {
  const child = spawn(process.execPath, [BIN, 'up', '--port', '0', '--log-level', 'warn', ...args], {
    // Not the repository: a config file there must not leak into the test.
    cwd: options.cwd ?? os.tmpdir(),
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const [url, readyLine] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = READY.exec(out);
      if (m) resolve([m[1]!, out.split('\n').find((l) => READY.test(l))!]);
    });
    void exited.then(({ code }) => reject(new Error(`tollstream up exited with ${code} before it was ready:\n${stderr}`)));
  });
  return {
    url,
    readyLine,
    child,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Collects stdout lines of a long-running child until `count` lines arrived. */
export function readLines(child: ChildProcess, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      partial += c;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      if (lines.length >= count) resolve(lines);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} after ${lines.length} of ${count} lines`)));
  });
}

export function spawnCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}
