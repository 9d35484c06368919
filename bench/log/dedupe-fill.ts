/**
 * A producer dedupe window filling from empty, as the server's windows do in the first minutes of traffic:
 * `--keys` transaction ids (about 20 bytes each) looked up and remembered in groups of 500 (one PutRecords'
 * worth), one millisecond of arrival time apart, into a window of an hour bounded to `--max-keys` keys (past
 * the bound the oldest keys are forgotten early, as under long heavy traffic).
 *
 *   node bin/run-ts.mjs bench/log/dedupe-fill.ts [--keys 1200000] [--max-keys 1000000] [--rounds 3]
 *
 * Reports per round the CPU per key and the CPU of the groups of 500 (the process's user + system time: the
 * window's work is all on this thread; CPU rather than wall time, so that another process taking the core does
 * not show as a pause): the median, p99 and the longest, which is the pause a request pays when the window
 * grows under it.
 */
import { parseArgs } from 'node:util';
import { DedupeWindow } from '../../src/log/dedupe.ts';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '1200000' }, 'max-keys': { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } } });
const KEYS = Math.min(Math.max(Number(values.keys), 10_000), 10_000_000);
const MAX_KEYS = Math.min(Math.max(Number(values['max-keys']), 1000), 10_000_000);
const ROUNDS = Math.min(Math.max(Number(values.rounds), 1), 10);
const GROUP = 500;

const scratch = Buffer.alloc(64);

function fill(round: number): { cpuNsPerKey: number; groupMs: number[]; bytes: number } {
  const window = new DedupeWindow(3_600_000, MAX_KEYS);
  const groupMs: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < KEYS; i += GROUP) {
    const started = process.cpuUsage();
    for (let j = i; j < i + GROUP && j < KEYS; j++) {
      const n = scratch.write(`T-${round}-${String(j).padStart(12, '0')}`, 0, 'latin1');
      if (window.find(scratch, 0, n, j) < 0) window.insertFound(j & 3, j, j);
    }
    const spent = process.cpuUsage(started);
    groupMs.push((spent.user + spent.system) / 1000);
  }
  const used = process.cpuUsage(cpu);
  return { cpuNsPerKey: ((used.user + used.system) * 1000) / KEYS, groupMs, bytes: window.bytes };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

console.log(`dedupe window fill: ${KEYS} keys in groups of ${GROUP}, bound ${MAX_KEYS} keys`);
for (let round = 1; round <= ROUNDS; round++) {
  const { cpuNsPerKey, groupMs, bytes } = fill(round);
  const sorted = [...groupMs].sort((a, b) => a - b);
  console.log(
    `round ${round}: ${cpuNsPerKey.toFixed(0)} ns CPU per key; group of ${GROUP}: median ${quantile(sorted, 0.5).toFixed(3)} ms, ` +
      `p99 ${quantile(sorted, 0.99).toFixed(3)} ms, longest ${sorted[sorted.length - 1]!.toFixed(1)} ms; window ${(bytes / 1048576).toFixed(1)} MiB`,
  );
}
