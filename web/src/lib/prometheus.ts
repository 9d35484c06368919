/**
 * A parser of the Prometheus text exposition format 0.0.4, for the console (it reads `/metrics` in the
 * browser). Plain TypeScript with no DOM use, so the tests import it under Node.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: a histogram's `_bucket`, `_sum` and `_count` samples keep their suffix. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `NaN`, `Infinity` and `-Infinity` are read from `NaN`, `+Inf` and `-Inf`. */
  readonly value: number;
  /** Milliseconds since the epoch, when the exposition gives one. */
  readonly timestamp?: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: Sample[];
}

const TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

/**
 * Families by name, in the order they first appear. A sample line that is not well formed is skipped rather
 * than failing the whole scrape: the console shows what it can read.
 */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, help: '', type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s(.*))?$/.exec(line);
      if (!m) continue;
      const f = family(m[2]!);
      const rest = m[3] ?? '';
      if (m[1] === 'HELP') (f as { help: string }).help = unescapeHelp(rest);
      else if (TYPES.has(rest.trim())) (f as { type: MetricType }).type = rest.trim() as MetricType;
      continue;
    }
    const sample = parseSample(line);
    if (!sample) continue;
    family(familyName(sample.name, families)).samples.push(sample);
  }
  return families;
}

/** The family a sample belongs to: its own name if declared, else its name without a known suffix. */
function familyName(sampleName: string, families: Map<string, MetricFamily>): string {
  if (families.has(sampleName)) return sampleName;
  for (const suffix of SUFFIXES) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      if (families.has(base)) return base;
    }
  }
  return sampleName;
}

function parseSample(line: string): Sample | undefined {
  const nameMatch = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!nameMatch) return undefined;
  const name = nameMatch[1]!;
  let i = nameMatch[0].length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i));
      if (!label) return undefined;
      i += label[0].length;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i++];
          value += next === 'n' ? '\n' : next === '\\' ? '\\' : next === '"' ? '"' : `\\${next ?? ''}`;
        } else {
          value += c;
        }
      }
      labels[label[1]!] = value;
    }
  }
  const parts = line.slice(i).trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return undefined;
  const value = parseValue(parts[0]!);
  if (value === undefined) return undefined;
  const timestamp = parts[1] === undefined ? undefined : Number(parts[1]);
  return timestamp === undefined || !Number.isFinite(timestamp) ? { name, labels, value } : { name, labels, value, timestamp };
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  return text !== '' && !Number.isNaN(n) ? n : undefined;
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** The samples of a family (or `[]` when the scrape does not hold it) whose labels include `match`. */
export function samplesOf(families: Map<string, MetricFamily>, name: string, match: Readonly<Record<string, string>> = {}): Sample[] {
  const f = families.get(name);
  if (!f) return [];
  return f.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The sum of `name` samples grouped by the value of one label (e.g. records per stream over its shards). */
export function sumBy(families: Map<string, MetricFamily>, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samplesOf(families, name)) {
    const key = s.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}
