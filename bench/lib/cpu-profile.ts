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
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileLine {
  readonly name: string;
  readonly selfMs: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idlePercent: number;
  readonly byFunction: readonly ProfileLine[];
  readonly byFile: readonly ProfileLine[];
}

export function summarizeCpuProfile(file: string, top = 25, repoRoot = ''): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((nodeId, i) => selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + Math.max(0, deltas[i] ?? 0)));

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
  const lines = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Math.round((us / total) * 1000) / 10 }));
  return {
    totalMs: Math.round(total / 1000),
    idlePercent: Math.round((idle / Math.max(1, total)) * 1000) / 10,
    byFunction: lines(byFunction),
    byFile: lines(byFile),
  };
}
