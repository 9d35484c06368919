/**
 * Server CPU by component, from a `.cpuprofile` summary by file: `src/<component>/...` counts for that
 * component, native add-ons and dependencies under their package, Node.js internals, garbage collection and
 * the rest under their own names.
 */
import type { ProfileSummary } from '../lib/cpu-profile.ts';

export interface ComponentShare {
  readonly component: string;
  readonly selfMs: number;
  /** Share of the busy (not idle) samples. */
  readonly percent: number;
}

/** Native file-system bindings (sampled under their own name, without a script URL). */
const FILE_SYSTEM_CALLS = new Set(['fdatasync', 'fsync', 'read', 'readBuffers', 'write', 'writeBuffer', 'writeBuffers', 'writeString', 'open', 'close', 'fstat', 'stat', 'lstat', 'ftruncate', 'rename', 'unlink', 'mkdir', 'readdir']);

export function componentOf(file: string): string {
  if (FILE_SYSTEM_CALLS.has(file)) return 'file system calls (native)';
  const src = /^src\/([^/]+)\//.exec(file);
  if (src) return `src/${src[1]}`;
  const dep = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (dep) return dep[1]!;
  if (file.startsWith('node:')) return 'Node.js internals';
  if (file === '(garbage collector)') return 'garbage collection';
  if (file === '(program)') return '(program: native code outside JS)';
  return file || '(unknown)';
}

/** The summary's files grouped by component, largest first. Pass a summary made with a large `top`. */
export function componentShares(summary: ProfileSummary): ComponentShare[] {
  const byComponent = new Map<string, { selfMs: number; percent: number }>();
  for (const line of summary.byFile) {
    const key = componentOf(line.name);
    const entry = byComponent.get(key) ?? { selfMs: 0, percent: 0 };
    entry.selfMs += line.selfMs;
    entry.percent += line.percent;
    byComponent.set(key, entry);
  }
  return [...byComponent.entries()]
    .map(([component, v]) => ({ component, selfMs: v.selfMs, percent: Math.round(v.percent * 10) / 10 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}
