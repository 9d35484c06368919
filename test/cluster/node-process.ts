/**
 * The part every node process of the failover tests shares (delivery-node.ts, test/queries/query-node.ts): a node
 * in a process of its own, so a test can kill it with kill -9. Reads its config as JSON from the first argument,
 * opens the JetStream log, starts the node's work, prints `ready`, then `held KEY,KEY,...` whenever the leases it
 * holds change; SIGTERM stops the node and the log and exits 0. `startNodeProcess` is the test's side: it starts one
 * and follows what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../src/core/logger.ts';
import { openJetStreamLog, type StreamLog } from '../../src/log/index.ts';
import type { TollTransaction } from '../../src/simulator/index.ts';
import type { WorkLeases } from '../../src/server/work-leases.ts';

export interface NodeProcessConfig {
  readonly natsUrls: string[];
  readonly prefix: string;
  readonly node: string;
}

export interface RunningNodeWork {
  readonly leases: WorkLeases;
  /** Stops the node's work (its leases released); the log is closed after it. */
  stop(): Promise<void>;
}

/** Runs the node `start` builds on the log; logs go to stderr as JSON when NODE_LOG is set. */
export async function runNodeProcess<C extends NodeProcessConfig>(start: (config: C, log: StreamLog, logger: Logger) => Promise<RunningNodeWork>): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as C;
  const logger = createLogger({ level: process.env.NODE_LOG ? 'info' : 'silent', format: 'json' });
  const log = await openJetStreamLog({ servers: config.natsUrls, prefix: config.prefix, replicas: 3, nodeName: config.node, requestTimeoutMs: 20_000, wakeFallbackMs: 500 });
  const work = await start(config, log, logger);
  process.stdout.write('ready\n');
  let last = '';
  setInterval(() => {
    const held = work.leases.status().held.join(',');
    if (held !== last) process.stdout.write(`held ${held}\n`);
    last = held;
  }, 20);
  process.on('SIGTERM', () => {
    void (async () => {
      await work.stop();
      await log.close();
      process.exit(0);
    })();
  });
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A node process as the test sees it. */
export interface NodeChild {
  readonly name: string;
  readonly child: ChildProcess;
  /** Shard ids whose lease the node holds, as it last reported. */
  held: string[];
}

/** Starts `script` (a node of `runNodeProcess`) with `config`; resolves once it printed `ready`. */
export async function startNodeProcess(script: string, name: string, config: string): Promise<NodeChild> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), script, config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const node: NodeChild = { name, child, held: [] };
  const lines = readline.createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    lines.on('line', (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('held ')) node.held = line.slice(5).split(',').filter(Boolean).map((key) => key.split(':').pop()!);
    });
  });
  await ready;
  return node;
}

/**
 * Appends `tolls` to `stream` 100 at a time until `stop`, noting each id as sent before its append and as
 * acknowledged once the log stored it. `stop` resolves when the append in flight is answered.
 */
export function produceTolls(log: StreamLog, stream: string, tolls: readonly TollTransaction[], seen: { sent: Set<string>; acknowledged: Set<string> }): { stop(): Promise<void> } {
  let next = 0;
  let producing = true;
  const producer = (async () => {
    while (producing && next < tolls.length) {
      const batch = tolls.slice(next, next + 100);
      next += batch.length;
      for (const t of batch) seen.sent.add(t.transaction_id);
      const results = await log.append(stream, batch.map((t) => ({ partitionKey: t.customer_id, data: Buffer.from(JSON.stringify(t)) })));
      results.forEach((r, i) => r.ok && seen.acknowledged.add(batch[i]!.transaction_id));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      producing = false;
      await producer;
    },
  };
}
