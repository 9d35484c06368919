/**
 * Summarizes a V8 `.cpuprofile` (written by `node --cpu-prof`): where the time went, by function (self time)
 * and by source file, as percentages of all samples.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** Microseconds of the monotonic clock (the one `process.hrtime` reads). */
  readonly startTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileLine {
  readonly name: string;
  readonly selfMs: number;
  /** Share of the busy (not idle) samples. */
  readonly percent: number;
}

/** A span of the monotonic clock, in microseconds (`process.hrtime.bigint() / 1000n`). */
export interface TimeWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export interface ProfileSummary {
  /** Sampled time inside the windows. */
  readonly totalMs: number;
  readonly idlePercent: number;
  readonly busyMs: number;
  readonly byFunction: readonly ProfileLine[];
  readonly byFile: readonly ProfileLine[];
}

/** Self time by function and by file, counting only samples inside `windows` when given (e.g. the measured phases). */
export function summarizeCpuProfile(file: string, options: { top?: number; repoRoot?: string; windows?: readonly TimeWindow[] } = {}): ProfileSummary {
  const top = options.top ?? 25;
  const repoRoot = options.repoRoot ?? '';
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const inWindow = (t: number) => !options.windows || options.windows.some((w) => t >= w.fromUs && t <= w.toUs);
  let at = profile.startTime;
  samples.forEach((nodeId, i) => {
    const delta = Math.max(0, deltas[i] ?? 0);
    at += delta;
    if (inWindow(at)) selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + delta);
  });

  const shortUrl = (url: string) => {
    let u = url.replace(/^file:\/\//, '');
    if (repoRoot && u.startsWith(repoRoot)) u = u.slice(repoRoot.length + 1);
    return u.replace(/^.*node_modules\//, 'node_modules/');
  };
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idle += us;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where ? ' ' + where : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const fileKey = url ? shortUrl(url) : functionName;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const busy = Math.max(1, total - idle);
  byFunction.delete('(idle)');
  byFile.delete('(idle)');
  const lines = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Math.round((us / busy) * 1000) / 10 }));
  return {
    totalMs: Math.round(total / 1000),
    idlePercent: Math.round((idle / Math.max(1, total)) * 1000) / 10,
    busyMs: Math.round(busy / 1000),
    byFunction: lines(byFunction),
    byFile: lines(byFile),
  };
}
