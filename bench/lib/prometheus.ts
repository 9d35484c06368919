/**
 * Reading a Tollstream server's `/metrics` (Prometheus text): one scrape, then the values of a metric family
 * across its label sets, so a benchmark can follow lag, freshness and counters while it drives load.
 */

/** The `/metrics` text; throws when the server does not answer 200 within `timeoutMs`. */
export async function scrapeMetrics(baseUrl: string, timeoutMs = 5000): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return text;
}

/** The value of every series of `name` (any labels), in the order they appear; empty when the family is absent. */
export function metricValues(text: string, name: string): number[] {
  const out: number[] = [];
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(Number(m[1]));
  return out;
}

/** The largest value of `name` over its series, or undefined when it has none (e.g. a gauge absent before the first row). */
export function metricMax(text: string, name: string): number | undefined {
  const values = metricValues(text, name).filter((v) => Number.isFinite(v));
  return values.length ? Math.max(...values) : undefined;
}

/** The sum of `name` over its series (0 when absent): for counters split by label. */
export function metricSum(text: string, name: string): number {
  return metricValues(text, name).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
}

/** The sum of `name` over its series that carry `label="value"`: one stream's share of a counter split by stream and shard. */
export function metricSumWithLabel(text: string, name: string, label: string, value: string): number {
  let sum = 0;
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  const wanted = `${label}="${value}"`;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const v = Number(m[2]);
    if (Number.isFinite(v) && m[1]!.split(',').includes(wanted)) sum += v;
  }
  return sum;
}
