/**
 * Micro-benchmark of the native API's route lookup per request: the route table (`matchRoute` of
 * src/gateway/native/routes.ts, on the shared router) against the hand-written matcher it replaced
 * (bench/gateway/route-baseline.ts), in the same process, alternating in rounds over the same URLs.
 *
 *   node bin/run-ts.mjs bench/gateway/route.ts [--rounds 15] [--iterations 200000]
 *
 * Prints ns per lookup (median of the rounds) for each URL, old and new, and new/old. The ingest request
 * (POST /v1/streams/{name}/records with its query string) is the one that matters: it is most of the traffic.
 */
import { parseArgs } from 'node:util';
import { matchRoute } from '../../src/gateway/native/routes.ts';
import { baselineMatchRoute } from './route-baseline.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, iterations: { type: 'string', default: '200000' } } });
const ROUNDS = Math.min(Number(values.rounds), 100);
const ITERATIONS = Math.min(Number(values.iterations), 10_000_000);

const CASES: ReadonlyArray<readonly [string, string]> = [
  ['POST', '/v1/streams/tolls/records?partitionKeyField=plate'],
  ['POST', '/v1/streams/tolls/records'],
  ['GET', '/v1/streams/tolls'],
  ['GET', '/v1/streams'],
  ['GET', '/v1/streams/tolls/tail?from=TRIM_HORIZON'],
  ['GET', '/v1/queries/plaza_minute/explain'],
  ['PUT', '/v1/reference/stations'],
  ['GET', '/v1/streams/caf%C3%A9'],
  ['GET', '/v1/nothing/here'],
];

let sink = 0;

function timeNs(lookup: (method: string, url: string) => { route: string }, method: string, url: string): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) sink += lookup(method, url).route.length;
  return Number(process.hrtime.bigint() - start) / ITERATIONS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Both must agree on every case, or the comparison means nothing.
for (const [method, url] of CASES) {
  const before = baselineMatchRoute(method, url).route;
  const after = matchRoute(method, url).route;
  if (before !== after) throw new Error(`${method} ${url}: the baseline finds ${before}, the table ${after}`);
}

console.log(`route lookup, ns/op (median of ${ROUNDS} rounds x ${ITERATIONS} lookups), node ${process.version}`);
console.log(`${'request'.padEnd(58)} ${'old'.padStart(8)} ${'new'.padStart(8)} ${'new/old'.padStart(8)}`);
for (const [method, url] of CASES) {
  const old: number[] = [];
  const fresh: number[] = [];
  timeNs(baselineMatchRoute, method, url);
  timeNs(matchRoute, method, url);
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      old.push(timeNs(baselineMatchRoute, method, url));
      fresh.push(timeNs(matchRoute, method, url));
    } else {
      fresh.push(timeNs(matchRoute, method, url));
      old.push(timeNs(baselineMatchRoute, method, url));
    }
  }
  const o = median(old);
  const n = median(fresh);
  console.log(`${`${method} ${url}`.padEnd(58)} ${o.toFixed(0).padStart(8)} ${n.toFixed(0).padStart(8)} ${(n / o).toFixed(2).padStart(8)}`);
}
if (sink === 0) console.log('');
