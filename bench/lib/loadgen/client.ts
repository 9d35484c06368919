/**
 * The load generator as a separate process (./worker.ts): it does not share an event loop or a core's time
 * slice with the benchmark's own work, and its CPU is reported on its own. Loopback only, bounded in time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TrafficGenerator } from '../../../src/simulator/index.ts';
import { REPO_ROOT } from '../../../bin/processes.ts';
import type { PoolRecord } from './bodies.ts';
import type { LoadRunResult, PrepareMessage, RunMessage, ToParent, ToWorker } from './protocol.ts';

export type { LoadRunResult } from './protocol.ts';
export type { PoolRecord } from './bodies.ts';

type Omitted<T> = T extends unknown ? Omit<T, 'id' | 'type'> : never;

export interface LoadGenerator {
  readonly pid: number;
  prepare(spec: Omitted<PrepareMessage>): Promise<{ bodies: number; bytesPerBody: number; buildMs: number; buildCpuMs: number }>;
  run(spec: Omitted<RunMessage>): Promise<LoadRunResult>;
  close(): Promise<void>;
}

export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child: ChildProcess = fork(path.join(REPO_ROOT, 'bin/run-ts.mjs'), [path.join(REPO_ROOT, 'bench/lib/loadgen/worker.ts')], {
    cwd: REPO_ROOT,
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve: (m: ToParent) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const ready = new Promise<void>((resolve, reject) => {
    waiting.set(0, { resolve: () => resolve(), reject });
  });
  child.on('message', (m: ToParent) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.type === 'error') w.reject(new Error(`load generator: ${m.message}`));
    else w.resolve(m);
  });
  child.once('exit', (code, signal) => {
    exited = true;
    for (const w of waiting.values()) w.reject(new Error(`the load generator exited (code ${code}, signal ${signal})`));
    waiting.clear();
  });
  await ready;

  const ask = (message: ToWorker): Promise<ToParent> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error('the load generator has exited'));
      waiting.set(message.id, { resolve, reject });
      child.send(message);
    });

  return {
    pid: child.pid!,
    async prepare(spec) {
      const m = await ask({ ...spec, type: 'prepare', id: nextId++ } as PrepareMessage);
      if (m.type !== 'prepared') throw new Error(`load generator answered ${m.type} to prepare`);
      return { bodies: m.bodies, bytesPerBody: m.bytesPerBody, buildMs: m.buildMs, buildCpuMs: m.buildCpuMs };
    },
    async run(spec) {
      const m = await ask({ ...spec, type: 'run', id: nextId++ } as RunMessage);
      if (m.type !== 'result') throw new Error(`load generator answered ${m.type} to run`);
      return m.result;
    },
    async close() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * `count` records of the simulator's traffic (its customers, plazas, out-of-order, late and retried records)
 * as a pool for the load generator: each record keeps how far its event time lies before its sending.
 */
export function simulatorPool(options: { seed: number; customers: number; count: number }): PoolRecord[] {
  const generator = new TrafficGenerator({ seed: options.seed, customers: options.customers, startTime: Date.UTC(2026, 0, 1), eventsPerSecond: 10_000, dailyProfile: false });
  const pool: PoolRecord[] = [];
  for (let i = 0; i < options.count; i++) {
    const r = generator.next();
    pool.push({ transaction: r.transaction, eventOffsetMs: Math.max(0, r.sentAt - Date.parse(r.transaction.event_time)), duplicate: r.duplicate });
  }
  return pool;
}
