/**
 * What `npm run bench` reports of each benchmark: its figures, each with the reference it is compared with in
 * the same run, the ratio, the target and PASS/MISS as the benchmark measured them. Benchmarks that write a
 * results file (bench/results/<kind>-<time>.json) are read from it; the others from what they print.
 */
import { formatCount } from './stats.ts';

export interface Figure {
  readonly figure: string;
  readonly value: string;
  readonly reference?: string;
  readonly ratio?: string;
  readonly target?: string;
  readonly verdict?: 'PASS' | 'MISS' | 'NOT RUN' | '';
}

export interface BenchmarkOutput {
  readonly stdout: string;
  /** The newest results file of this benchmark's kind written during its run, parsed. */
  readonly json: any;
}

export interface BenchmarkSpec {
  readonly name: string;
  /** The npm script that runs it in full. */
  readonly script: string;
  /** Path and arguments for `node bin/run-ts.mjs` in this run (its quick mode where it has one). */
  readonly args: readonly string[];
  readonly timeoutMs: number;
  /** `<kind>` of bench/results/<kind>-<time>.json, for benchmarks that write one. */
  readonly resultsKind?: string;
  /** The figures; throws when the output lacks them (the benchmark is then reported as failed). */
  figures(output: BenchmarkOutput): Figure[];
}

const rate = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? 'n/a' : `${formatCount(v)}/s`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !(b > 0) ? '' : `${(a / b).toFixed(2)}x`);
const ms = (v: number | undefined | null) => (v === undefined || v === null ? 'n/a' : !Number.isFinite(v) ? 'never' : `${Math.round(v).toLocaleString('en-US')} ms`);
const verdict = (pass: boolean | undefined): Figure['verdict'] => (pass === undefined ? '' : pass ? 'PASS' : 'MISS');

function need<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`the output has no ${what}`);
  return value;
}

/** `label  12,345 records/s` lines of a plain-text report. */
function ratePrinted(stdout: string, label: string): number | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(label));
  const m = line ? /([\d,]+) records\/s/.exec(line.slice(label.length)) : null;
  return m ? Number(m[1]!.replace(/,/g, '')) : undefined;
}

/** The last line of stdout that parses as a JSON object. */
function lastJsonLine(stdout: string): any {
  const last = jsonLines(stdout).at(-1);
  if (last === undefined) throw new Error('the output has no JSON result line');
  return last;
}

/** The lines of the output that are JSON objects, in order. */
function jsonLines(stdout: string): any[] {
  const out: any[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // not JSON after all
    }
  }
  return out;
}

/** A row of a `formatTable` table: the cells after `label`, split on runs of two or more spaces. */
function tableRow(stdout: string, label: string): string[] | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(label));
  return line ? line.slice(label.length).trim().split(/\s{2,}/) : undefined;
}
const parseCount = (s: string | undefined) => (s === undefined ? undefined : Number(s.replace(/,/g, '')));

export const BENCHMARKS: readonly BenchmarkSpec[] = [
  {
    name: 'ingest',
    script: 'npm run bench:ingest',
    args: ['bench/ingest/main.ts', '--quick'],
    timeoutMs: 240_000,
    resultsKind: 'ingest',
    figures: ({ json }) => {
      const p = need(json?.phases, 'phases');
      const target = (name: string) => (json.targets as { name: string; goal: string; pass?: boolean }[]).find((t) => t.name === name);
      const kinesis = p.tollstreamKinesis?.recordsPerSecond;
      const native = p.tollstreamNative?.recordsPerSecond;
      const t1 = target('Kinesis API / SDK producer alone');
      const t2 = target('native / JSON.parse');
      const t3 = target('PutRecords p99 at half max rate');
      const lat = p.putRecordsLatency?.latency;
      return [
        { figure: 'Kinesis API (SDK, PutRecords of 500), records/s', value: rate(kinesis), reference: `kinesalite ${rate(p.kinesalite?.recordsPerSecond)}`, ratio: ratio(kinesis, p.kinesalite?.recordsPerSecond) },
        { figure: 'native API (NDJSON), records/s', value: rate(native), reference: `JSON.parse on one core ${rate(p.jsonParse?.recordsPerSecond)}`, ratio: ratio(native, p.jsonParse?.recordsPerSecond), target: t2?.goal ?? '', verdict: verdict(t2?.pass) },
        { figure: 'Kinesis API against append + fdatasync of 500-record batches', value: rate(kinesis), reference: `fdatasync ${rate(p.fdatasync500?.recordsPerSecond)}`, ratio: ratio(kinesis, p.fdatasync500?.recordsPerSecond) },
        { figure: 'native API against append + fdatasync of 1000-record batches', value: rate(native), reference: `fdatasync ${rate(p.fdatasync1000?.recordsPerSecond)}`, ratio: ratio(native, p.fdatasync1000?.recordsPerSecond) },
        { figure: 'Kinesis API against the SDK producer alone (null endpoint)', value: rate(kinesis), reference: `SDK alone ${rate(p.sdkAlone?.recordsPerSecond)}`, ratio: ratio(kinesis, p.sdkAlone?.recordsPerSecond), target: t1?.goal ?? '', verdict: verdict(t1?.pass) },
        { figure: 'PutRecords p50 / p99 at half the maximum rate', value: lat ? `${ms(lat.p50Ms)} / ${ms(lat.p99Ms)}` : 'n/a', target: t3?.goal ?? '', verdict: verdict(t3?.pass) },
        { figure: 'server cores in the Kinesis / native phases', value: `${p.tollstreamKinesis?.serverCores ?? 'n/a'} / ${p.tollstreamNative?.serverCores ?? 'n/a'}` },
      ];
    },
  },
  {
    name: 'log',
    script: 'npm run bench:log',
    args: ['bench/log/append.ts', '--seconds', '2'],
    timeoutMs: 90_000,
    figures: ({ stdout }) => {
      const raw = ratePrinted(stdout, 'raw write+fdatasync');
      const parse = ratePrinted(stdout, 'JSON.parse of the same records');
      const rows: Figure[] = [];
      for (const label of ['log fsync=always, dedupe by transaction_id', 'log fsync=always, no dedupe', 'log fsync=interval, dedupe by transaction_id']) {
        const v = need(ratePrinted(stdout, label), `'${label}' line`);
        rows.push({ figure: `${label}, records/s`, value: rate(v), reference: `write+fdatasync of one batch ${rate(raw)}`, ratio: ratio(v, raw) });
      }
      rows.push({ figure: 'JSON.parse of the same records (one core), records/s', value: rate(parse) });
      return rows;
    },
  },
  {
    name: 'tables',
    script: 'npm run bench:tables',
    args: ['bench/tables/update.ts', '--seconds', '3'],
    timeoutMs: 60_000,
    figures: ({ stdout }) => {
      const j = lastJsonLine(stdout);
      return [
        { figure: `atomic adds in transactions of ${j.batchSize} (synchronous ${j.synchronous}), updates/s`, value: rate(j.updatesPerSecond) },
        { figure: 'updates per CPU-second', value: rate(j.updatesPerCpuSecond) },
        { figure: 'transaction p50 / p99', value: `${j.batchMsP50} / ${j.batchMsP99} ms` },
      ];
    },
  },
  {
    name: 'delivery',
    script: 'npm run bench:delivery',
    args: ['bench/delivery/main.ts', '--rows', '50000', '--live-seconds', '4'],
    timeoutMs: 120_000,
    figures: ({ stdout }) => {
      const cellsD = need(tableRow(stdout, 'delivery: log -> DuckDB (default hints)'), 'delivery row');
      const cellsA = need(tableRow(stdout, 'DuckDB Appender, parsed rows'), 'appender row');
      const cellsP = need(tableRow(stdout, 'JSON.parse + DuckDB Appender'), 'parse + appender row');
      const d = parseCount(cellsD[2]);
      const a = parseCount(cellsA[2]);
      const p = parseCount(cellsP[2]);
      const live = /warehouse freshness p50 ([\d.]+) s, max ([\d.]+) s/.exec(stdout);
      return [
        { figure: 'delivery log -> DuckDB (backlog), rows/s', value: rate(d), reference: `DuckDB Appender of parsed rows ${rate(a)}`, ratio: ratio(d, a) },
        { figure: 'JSON.parse + DuckDB Appender, rows/s', value: rate(p), reference: `DuckDB Appender ${rate(a)}`, ratio: ratio(p, a) },
        { figure: 'live delivery at 2,000 records/s: warehouse freshness p50 / max', value: live ? `${live[1]} / ${live[2]} s` : 'n/a' },
      ];
    },
  },
  {
    name: 'delivery:postgres',
    script: 'npm run bench:delivery:postgres',
    args: ['bench/delivery/postgres.ts', '--rows', '20000', '--rounds', '1'],
    timeoutMs: 120_000,
    figures: ({ stdout }) => {
      const m = need(/best delivery rate: PostgreSQL ([\d,]+) rows\/s, DuckDB ([\d,]+) rows\/s/.exec(stdout), "'best delivery rate' line");
      const pg = parseCount(m[1]);
      const duck = parseCount(m[2]);
      return [{ figure: 'delivery log -> PostgreSQL (COPY), rows/s', value: rate(pg), reference: `log -> DuckDB ${rate(duck)}`, ratio: ratio(pg, duck) }];
    },
  },
  {
    name: 'sql',
    script: 'npm run bench:sql',
    args: ['bench/sql/main.ts', '--quick', '--no-ndjson'],
    timeoutMs: 240_000,
    resultsKind: 'sql',
    figures: ({ json }) => {
      const queries = need(json?.queries as any[] | undefined, 'queries');
      return queries.map((q): Figure => {
        const duckRate = q.duckdbMs > 0 ? q.rowsIn / (q.duckdbMs / 1000) : undefined;
        return {
          figure: `Nexmark ${q.name} (${q.title}), events per CPU-second${q.check?.ok === false ? ' (CHECK AGAINST DUCKDB FAILED)' : ''}`,
          value: rate(q.eventsPerCpuSecond),
          reference: `DuckDB batch ${rate(duckRate)}`,
          ratio: ratio(q.eventsPerCpuSecond, duckRate),
          target: q.targetPerCore === null ? '' : `>= ${formatCount(q.targetPerCore)}/s`,
          verdict: q.verdict === 'PASS' || q.verdict === 'MISS' ? q.verdict : '',
        };
      });
    },
  },
  {
    name: 'queries',
    script: 'npm run bench:queries',
    args: ['test/queries/throughput.ts', '100000'],
    // Two runs: the operators on a query thread, then on the main thread.
    timeoutMs: 240_000,
    figures: ({ stdout }) => {
      // One line per run (operators on a query thread, then on the main thread), then their ratios.
      const runs = jsonLines(stdout).filter((j) => typeof j.threads === 'number');
      if (runs.length === 0) throw new Error('the output has no JSON result line');
      const reference = runs.find((j) => j.threads === 0);
      return runs.flatMap((j): Figure[] => {
        const where = j.threads > 0 ? 'on a query thread' : 'on the main thread';
        const vs = j === reference || reference === undefined ? {} : { reference: `${rate(reference.recordsPerSecond)} on the main thread`, ratio: ratio(j.recordsPerSecond, reference.recordsPerSecond) };
        return [
          { figure: `live windowed query ${where} over a backlog of ${formatCount(j.records)} records, records/s`, value: rate(j.recordsPerSecond), ...vs },
          { figure: `records per CPU-second ${where} (main thread's part of the CPU ${j.mainThreadShare})`, value: rate(j.cpuSeconds > 0 ? j.records / j.cpuSeconds : undefined) },
        ];
      });
    },
  },
  {
    name: 'alerts',
    script: 'npm run bench:alerts',
    args: ['bench/alerts/main.ts', '--quick'],
    timeoutMs: 180_000,
    resultsKind: 'alerts',
    figures: ({ json }) => {
      const phases = need(json?.phases as any[] | undefined, 'phases');
      const target = json.target;
      return phases.flatMap((p): Figure[] => [
        { figure: `${p.label} phase: tolls acknowledged / committed by the spend function`, value: `${rate(p.achievedRate)} / ${rate(p.appliedRate)}`, reference: `target ${rate(p.targetRate)}`, ratio: ratio(p.achievedRate, p.targetRate) },
        {
          figure: `${p.label} phase: breach -> notification p50 / p99 (${p.notified}/${p.breachesSent} notified)`,
          value: `${ms(p.latency?.p50Ms)} / ${ms(p.latency?.p99Ms)}`,
          ...(p.label === 'target' ? { target: `p99 <= ${target.p99Ms} ms at ${formatCount(target.rate)}/s`, verdict: target.verdict } : {}),
        },
      ]);
    },
  },
  {
    name: 'e2e',
    script: 'npm run bench:e2e',
    args: ['bench/e2e/main.ts', '--quick'],
    timeoutMs: 180_000,
    resultsKind: 'e2e',
    figures: ({ json }) => {
      const s = json?.sustained;
      const rows: Figure[] = [
        { figure: `highest sustained rate (every condition held; ${json?.settings?.holdMs > 0 ? `held ${json.settings.holdMs / 1000} s` : `${(json?.settings?.stepMs ?? 0) / 1000} s steps, no hold`})`, value: s ? rate(s.rate) : 'none', reference: 'the end-to-end target 250,000/s', ratio: ratio(s?.rate ?? 0, 250_000), target: '>= 250,000/s', verdict: verdict((s?.rate ?? 0) >= 250_000) },
      ];
      const exceptMemory = json?.sustainedRateExceptMemory;
      if (typeof exceptMemory === 'number' && exceptMemory !== s?.rate) {
        rows.push({ figure: 'highest rate meeting every condition but memory levelling off (short steps)', value: rate(exceptMemory) });
      }
      if (s) {
        rows.push(
          { figure: 'at that rate: breach -> notification p50 / p99', value: `${ms(s.breaches.fromAck.p50Ms)} / ${ms(s.breaches.fromAck.p99Ms)}`, target: 'p99 <= 2,000 ms', verdict: verdict(s.breaches.fromAck.p99Ms <= 2000) },
          { figure: 'at that rate: warehouse freshness p50 / p99', value: `${s.freshnessSeconds.p50} / ${s.freshnessSeconds.p99} s`, target: 'p99 <= 10 s', verdict: verdict(s.freshnessSeconds.p99 !== null && s.freshnessSeconds.p99 <= 10) },
          { figure: 'at that rate: server / load generator cores, server µs per toll', value: `${s.serverCores} / ${s.loadGeneratorCores}, ${formatCount(s.serverCpuUsPerRecord)} µs` },
          { figure: 'at that rate: server RSS first / last / peak', value: `${s.rss.firstMiB} / ${s.rss.lastMiB} / ${s.rss.peakMiB} MiB` },
        );
      }
      for (const step of (json?.steps ?? []) as any[]) {
        if (!step.sustained) rows.push({ figure: `step at ${formatCount(step.rate)}/s not sustained`, value: step.misses.join('; ') });
      }
      return rows;
    },
  },
  checkpointSpec('checkpoint', 'a GROUP BY (changed groups saved)', ['--quick', '--phases', 'none,incremental,full']),
  checkpointSpec('checkpoint-over', 'an OVER window (whole state saved)', ['--shape', 'over', '--keys', '50000', '--rate', '2000', '--seconds', '10', '--phases', 'none,incremental']),
  {
    name: 'state',
    script: 'npm run bench:state',
    args: ['bench/state/main.ts', '--quick'],
    timeoutMs: 240_000,
    resultsKind: 'state',
    figures: ({ json }) => {
      const sizes = need(json?.sizes, 'the sizes of bench:state') as any[];
      const mib = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${Math.round(v / 1024 / 1024)} MiB`);
      const bytes = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${(Math.round(v) || 0).toLocaleString('en-US')} B`);
      const rows: Figure[] = [];
      for (const size of sizes) {
        const label = `${formatCount(size.customers)} customers`;
        if (size.status !== 'ran') {
          rows.push({ figure: `${label}: not run`, value: String(size.reason ?? size.status).split('\n')[0]! });
          continue;
        }
        const f = size.figures ?? {};
        rows.push(
          { figure: `${label}: start-up to /health; idle RSS`, value: `${ms(size.startup?.readyMs)}; ${mib(size.startup?.idleRssBytes)}` },
          { figure: `${label}: memory per customer of state, idle / after traffic`, value: `${bytes(f.idleRssBytesPerCustomer)} / ${bytes(f.afterTrafficRssBytesPerCustomer)}`, reference: 'a run with 1,000 customers' },
          { figure: `${label}: after kill -9, restart to /health; to caught up`, value: `${ms(size.recovery?.readyMs)}; ${ms(size.recovery?.caughtUpMs)}` },
          { figure: `${label}: disk per million tolls, log (ingest stream alone) / warehouse`, value: `${mib(f.logBytesPerMillionTolls)} (${mib(f.ingestStreamBytesPerMillionTolls)}) / ${mib(f.warehouseBytesPerMillionTolls)}` },
          { figure: `${label}: every acknowledged toll counted once in warehouse and totals`, value: size.check ? `${formatCount(size.check.warehouse?.distinctTransactions)} of ${formatCount(size.check.acknowledged)}; ${size.check.totals?.customersDiffering} customers differing` : 'n/a' },
        );
      }
      return rows;
    },
  },
];

/**
 * bench:checkpoint on one query shape: per checkpointing phase, what a checkpoint writes, how long it takes and
 * what it costs the main thread (its CPU over the reference phase without checkpoints, per checkpoint).
 */
function checkpointSpec(name: string, shape: string, args: readonly string[]): BenchmarkSpec {
  return {
    name,
    script: 'npm run bench:checkpoint',
    args: ['bench/checkpoint/main.ts', ...args],
    timeoutMs: 300_000,
    figures: ({ stdout }) => {
      const rows: Figure[] = [];
      for (const phase of ['incremental', 'full']) {
        // phase, checkpoints, MB/ckpt mean, MB/ckpt max, ckpt ms mean, ckpt ms max, main CPU s, process CPU s, main ms/ckpt, stall max ms, ...
        const cells = tableRow(stdout, `${phase}  `);
        if (!cells) continue;
        const [checkpoints, mbMean, , msMean, , , , mainMs, stallMax] = cells;
        rows.push(
          { figure: `${shape}, ${phase}: checkpoints; MB and ms (barrier to durable) per checkpoint`, value: `${checkpoints}; ${mbMean} MB; ${msMean} ms` },
          { figure: `${shape}, ${phase}: main-thread CPU per checkpoint; longest event-loop stall`, value: `${mainMs} ms; ${stallMax} ms`, reference: 'the phase without checkpoints' },
        );
      }
      if (rows.length === 0) throw new Error('the output has no checkpointing phase');
      return rows;
    },
  };
}
