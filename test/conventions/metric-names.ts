/**
 * The metric names a dashboard or a rules file refers to, and which of them a /metrics text does not expose:
 * a renamed metric must not leave an empty panel or an alert that can never fire.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const NAME = /\b(?:tollstream|process)_[a-z0-9_]+/g;
const HISTOGRAM_SUFFIX = /_(?:bucket|sum|count)$/;

/** Every PromQL expression of a Grafana dashboard (panels, nested rows, template queries). */
export function dashboardExpressions(file: string): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'expr' || key === 'query' || key === 'definition') && typeof value === 'string') found.push(value);
      else visit(value);
    }
  };
  visit(JSON.parse(fs.readFileSync(file, 'utf8')));
  return found;
}

/** Every `expr:` of a Prometheus rules file (one line each, as ours are written). */
export function ruleExpressions(file: string): string[] {
  return [...fs.readFileSync(file, 'utf8').matchAll(/^\s*expr:\s*(.+)$/gm)].map((m) => m[1]!);
}

/** Names used in `expressions` that `metricsText` has no `# TYPE` line for (histogram series map to their family). */
export function missingMetrics(expressions: readonly string[], metricsText: string): string[] {
  const exposed = new Set([...metricsText.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  const used = new Set(expressions.flatMap((e) => [...e.matchAll(NAME)].map((m) => m[0])));
  return [...used].filter((name) => !exposed.has(name) && !(HISTOGRAM_SUFFIX.test(name) && exposed.has(name.replace(HISTOGRAM_SUFFIX, '')))).sort();
}

/** `promtool check metrics` (Debian's prometheus package) on a /metrics text: exit code 0 and no output when it passes. */
export function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
