/** CPU time of a process (Linux /proc), to report how many cores a server used during a phase. */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process `pid` has used so far; NaN where /proc is not available. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds of this process's main thread (Linux: its thread id is the process id; other threads left out). */
export function mainThreadCpuSeconds(): number {
  return threadCpuSeconds(process.pid, process.pid);
}

/**
 * User + system CPU seconds of one thread of process `pid` (Linux thread id `tid`; a process's main thread
 * has the process id); NaN where /proc is not available.
 */
export function threadCpuSeconds(pid: number, tid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
}

function statCpuSeconds(file: string): number {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Measures the cores used by a process and by this one between `start()` and `stop()`. */
export function cpuMeter(serverPid: number | undefined) {
  let serverStart = 0;
  let mainStart = 0;
  let selfStart = process.cpuUsage();
  let wallStart = 0;
  let monotonicStartUs = 0;
  return {
    start(): void {
      monotonicStartUs = Number(process.hrtime.bigint() / 1000n);
      serverStart = serverPid === undefined ? Number.NaN : processCpuSeconds(serverPid);
      mainStart = serverPid === undefined ? Number.NaN : threadCpuSeconds(serverPid, serverPid);
      selfStart = process.cpuUsage();
      wallStart = performance.now();
    },
    /** Cores used since `start`, and the span in monotonic microseconds (to cut a CPU profile to it). */
    stop(): { serverCores: number; serverMainThreadShare: number; loadGeneratorCores: number; window: { fromUs: number; toUs: number } } {
      const wall = (performance.now() - wallStart) / 1000;
      const self = process.cpuUsage(selfStart);
      const server = serverPid === undefined ? Number.NaN : processCpuSeconds(serverPid) - serverStart;
      const main = serverPid === undefined ? Number.NaN : threadCpuSeconds(serverPid, serverPid) - mainStart;
      return {
        serverCores: Math.round((server / wall) * 100) / 100,
        // The main thread's part of the server's CPU (the rest: query, checkpoint and libuv threads, DuckDB's, SQLite's).
        serverMainThreadShare: server > 0 ? Math.round((main / server) * 100) / 100 : Number.NaN,
        loadGeneratorCores: Math.round(((self.user + self.system) / 1e6 / wall) * 100) / 100,
        window: { fromUs: monotonicStartUs, toUs: Number(process.hrtime.bigint() / 1000n) },
      };
    },
  };
}
