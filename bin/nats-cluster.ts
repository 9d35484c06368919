/**
 * Starts a JetStream cluster of Debian's `nats-server` processes on 127.0.0.1, for `npm run cluster:local`, the
 * benchmarks and the tests: random free client and route ports, a temp store dir per server, ready once a stream
 * can be replicated on every server.
 * `stop(i)` / `start(i)` take one server down and back up (same ports and store) for failover tests;
 * `close()` (or `await using`) kills every server and removes the dirs.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';

/** Debian installs the server in /usr/sbin, which is not on every user's PATH. */
export const NATS_SERVER = process.env.TOLLSTREAM_NATS_SERVER ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

export interface NatsClusterServer {
  readonly name: string;
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  readonly storeDir: string;
  /** Undefined while the server is stopped. */
  process: ChildProcess | undefined;
}

export interface NatsCluster extends AsyncDisposable {
  readonly servers: readonly NatsClusterServer[];
  /** Every server's client URL. */
  readonly urls: readonly string[];
  readonly dir: string;
  /** Stops server `i` with `signal` (SIGKILL by default, a crash) and waits until it exited. */
  stop(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts server `i` again over its store dir and waits until it accepts clients. */
  start(i: number): Promise<void>;
  /** Waits until JetStream can place a stream on every running server (after a start or a failover). */
  waitForMetaLeader(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface NatsClusterOptions {
  /** @default 3 */
  readonly size?: number;
  /** The largest message the servers accept, in bytes: a 1 MiB record and its batch framing must fit. @default 8 MiB */
  readonly maxPayloadBytes?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nats-server on port ${port} exited (${child.exitCode ?? child.signalCode}) before accepting clients`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not accept clients on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function jsApi(nc: NatsConnection, api: string, body: unknown): Promise<{ error?: { description: string } }> {
  const reply = await nc.request(`$JS.API.${api}`, JSON.stringify(body), { timeout: 5000 });
  return JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description: string } };
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const maxPayload = options.maxPayloadBytes ?? 8 * 1024 * 1024;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-nats-'));
  const servers: NatsClusterServer[] = [];
  for (let i = 0; i < size; i++) {
    servers.push({ name: `n${i + 1}`, url: '', port: await freePort(), routePort: await freePort(), storeDir: path.join(dir, `n${i + 1}`), process: undefined });
  }
  for (const s of servers) (s as { url: string }).url = `nats://127.0.0.1:${s.port}`;
  const stderr = new Map<string, string>();

  const configFile = (s: NatsClusterServer) => path.join(dir, `${s.name}.conf`);
  for (const s of servers) {
    const routes = servers.filter((o) => o !== s).map((o) => `    "nats-route://127.0.0.1:${o.routePort}"`);
    const conf = [
      `server_name: ${s.name}`,
      `listen: "127.0.0.1:${s.port}"`,
      `max_payload: ${maxPayload}`,
      'jetstream {',
      `  store_dir: "${s.storeDir}"`,
      '  max_memory_store: 64MB',
      '  max_file_store: 2GB',
      '}',
      'cluster {',
      '  name: tollstream-test',
      `  listen: "127.0.0.1:${s.routePort}"`,
      '  routes: [',
      routes.join('\n'),
      '  ]',
      '}',
      '',
    ].join('\n');
    await writeFile(configFile(s), conf);
  }

  const launch = async (s: NatsClusterServer): Promise<void> => {
    const child = spawn(NATS_SERVER, ['-c', configFile(s)], { stdio: ['ignore', 'ignore', 'pipe'] });
    s.process = child;
    child.stderr!.on('data', (d: Buffer) => stderr.set(s.name, ((stderr.get(s.name) ?? '') + d.toString()).slice(-4000)));
    child.once('error', (err) => stderr.set(s.name, `cannot run ${NATS_SERVER}: ${err.message}`));
    try {
      await waitForPort(s.port, child, 15_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stderr.get(s.name) ?? ''}`);
    }
  };

  // A minute: on a loaded 2-core machine three servers once needed more than 30 s to agree on their peers (a CI run
  // failed so, with 'no suitable peers for placement' all along).
  const waitForMetaLeader = async (timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const urls = servers.filter((s) => s.process).map((s) => s.url);
    let last: unknown;
    while (Date.now() < deadline) {
      const nc = await connect({ servers: urls, reconnect: false, timeout: 2000 }).catch((err: unknown) => {
        last = err;
        return undefined;
      });
      if (nc) {
        try {
          // Ready when a stream replicated on every running server can be placed: the meta group has a
          // leader and knows all its peers (before that, creating one fails with 'no suitable peers').
          const name = `ready_probe_${process.pid}_${Date.now()}`;
          const replicas = servers.filter((s) => s.process).length;
          const added = await jsApi(nc, `STREAM.CREATE.${name}`, { name, subjects: [`ready_probe.${name}`], num_replicas: replicas, storage: 'memory' });
          if (!added.error) {
            await jsApi(nc, `STREAM.DELETE.${name}`, {});
            return;
          }
          last = new Error(added.error.description);
        } catch (err) {
          last = err;
        } finally {
          await nc.close();
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the JetStream cluster elected no meta leader within ${timeoutMs} ms: ${String(last)}`);
  };

  const stop = async (i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const child = servers[i]!.process;
    if (!child) return;
    servers[i]!.process = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  };

  const close = async (): Promise<void> => {
    await Promise.all(servers.map((_, i) => stop(i)));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(servers.map(launch));
    await waitForMetaLeader();
  } catch (err) {
    await close();
    throw err;
  }

  return {
    servers,
    urls: servers.map((s) => s.url),
    dir,
    stop,
    start: (i: number) => launch(servers[i]!),
    waitForMetaLeader,
    close,
    [Symbol.asyncDispose]: close,
  };
}
