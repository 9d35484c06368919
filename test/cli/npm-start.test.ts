/**
 * `npm start` is how the README runs the server, and how a process manager that knows only npm stops it: SIGTERM
 * to npm must reach the server, which then stops cleanly (no orphan holding the port and the data dir's lock).
 * `npm start` compiles the server first (`prestart`: `npm run build:server`) and runs the JavaScript in lib/.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, REPO_ROOT, tempDir } from './helpers.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Pids whose command line names `needle` (the test's unique data dir), npm itself excluded. */
function serverPids(needle: string, npmPid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === npmPid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes(needle) && cmdline.some((a) => a.endsWith('lib/cli/main.js'))) pids.push(Number(entry));
    } catch {
      // Gone while listing.
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    // A zombie has exited; only its parent has not collected it yet.
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function until(check: () => boolean | Promise<boolean>, boundMs: number): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('npm start', () => {
  it('stops the server when npm gets SIGTERM', async () => {
    const dataDir = tempDir('npm-start');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const npmExit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
    cleanups.push(() => {
      // Whatever the outcome, no server of this test outlives it.
      for (const pid of serverPids(dataDir, npm.pid!)) process.kill(pid, 'SIGKILL');
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    });
    let stderr = '';
    npm.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      npm.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /tollstream ready at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      void npmExit.then(({ code }) => reject(new Error(`npm start exited with ${code} before the server was ready:\n${stderr}`)));
    });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const port = Number(new URL(url).port);
    const servers = serverPids(dataDir, npm.pid!);
    expect(servers).toHaveLength(1);
    const server = servers[0]!;

    npm.kill('SIGTERM');
    await npmExit;

    expect(await until(() => !alive(server), 30_000)).toBe(true);
    expect(await portOpen(port)).toBe(false);
  }, 90_000);
});
