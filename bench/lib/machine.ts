/** What a benchmark ran on, stored with its results so figures from different machines are not compared blindly. */
import os from 'node:os';

export interface MachineDescription {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly memoryBytes: number;
  readonly os: string;
  readonly nodeVersion: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews every figure. */
  readonly loadAverage: readonly number[];
}

export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    nodeVersion: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
