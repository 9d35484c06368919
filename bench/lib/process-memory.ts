/** Resident memory of a process (Linux /proc), to tell whether a server's memory levels off under load. */
import { readFileSync } from 'node:fs';

/** The resident set size of `pid` in bytes; NaN where /proc is not available or the process is gone. */
export function processRssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
