/**
 * Load time, memory and lookup rate of a file reference table the size of Linear Road's segment tables:
 * four columns (xway INT and seg INT, the join key; toll INT; label VARCHAR), 100k, 1M and 2.5M rows of CSV.
 *
 *   node bin/run-ts.mjs bench/sql/reference-table.ts [--rows 100000,1000000,2500000] [--lookups 1000000] [--seconds 5]
 *
 * Each size runs in a child process of its own (`--expose-gc`, a 4 GiB heap limit, killed after 300 s) so one
 * size's garbage does not count against the next. A child writes the CSV to a temp dir, loads it as a live query
 * would (`FileReferenceTable.load`), builds the lookup index with a first batch, then probes random keys in batches
 * of 1,000 stream rows through `LookupJoinOperator` for at most `--lookups` rows or `--seconds`, whichever is first.
 * Reported: load time (read and parse, then the index), RSS and heap + array-buffer growth after a forced GC with the
 * table held, peak RSS of the child, and lookups per second. Removes its temp dir.
 *
 * `--layout rows,columns` (the default) runs each size twice, one child each, in that order: `rows` is the layout
 * reference tables had before they were held in columns (the whole file read and parsed into one record object and
 * one row array per line, then a Map from a key string to the rows), kept here as the yardstick, measured in the
 * same run on the same machine; `columns` is the table as it is now.
 */
import { fork } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Row } from '../../src/sql/expr/types.ts';
import { LookupJoinOperator } from '../../src/sql/operators/lookup-join.ts';
import type { RefTableDef } from '../../src/sql/planner/logical/nodes.ts';
import { FileReferenceTable } from '../../src/sql/reference-table.ts';
import { parseCsvRows } from '../../src/core/csv.ts';
import { refRecordToRow } from '../../src/sql/inputs.ts';
import { keyOf } from '../../src/sql/runtime/operator.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000,1000000,2500000' },
    lookups: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '5' },
    layout: { type: 'string', default: 'rows,columns' },
    child: { type: 'string' },
  },
});

type Layout = 'rows' | 'columns';

/** The yardstick: a file read whole into row objects, probed through a Map of key strings. */
async function rowsLayout(def: RefTableDef): Promise<(probe: Row) => number> {
  const text = await readFile(def.path!, 'utf8');
  const [header, ...body] = parseCsvRows(text);
  const records = body.map((cells) => Object.fromEntries(header!.map((h, i) => [h.trim(), cells[i] === '' ? null : cells[i]])));
  const rows = records.map((rec) => refRecordToRow(def, rec));
  const index = new Map<unknown, Row[]>();
  for (const r of rows) {
    const k = keyOf([r[0]!, r[1]!]);
    const list = index.get(k);
    if (list) list.push(r);
    else index.set(k, [r]);
  }
  return (probe) => {
    let n = 0;
    for (const t of index.get(keyOf(probe)) ?? []) {
      const joined = probe.slice();
      for (const v of t) joined.push(v);
      n++;
    }
    return n;
  };
}

const SEGMENTS = 100;
const MB = 1024 * 1024;

interface Figures {
  layout: Layout;
  rows: number;
  csvMb: number;
  loadMs: number;
  indexMs: number;
  rssGrowthMb: number;
  heapGrowthMb: number;
  peakRssMb: number;
  lookups: number;
  lookupsPerSecond: number;
  matched: number;
}

async function writeCsv(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('xway,seg,toll,label\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const xway = Math.floor(i / SEGMENTS);
    const seg = i % SEGMENTS;
    chunk += `${xway},${seg},${(i * 7919) % 1000},xway ${xway} seg ${seg}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function measure(layout: Layout, rows: number): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollstream-bench-reftable-'));
  try {
    const file = path.join(dir, 'segments.csv');
    await writeCsv(file, rows);
    const { size } = await import('node:fs').then((fs) => fs.statSync(file));
    const def: RefTableDef = {
      name: 'segments',
      path: file,
      stream: null,
      format: 'csv',
      columns: [
        { name: 'xway', type: 'BIGINT' },
        { name: 'seg', type: 'BIGINT' },
        { name: 'toll', type: 'BIGINT' },
        { name: 'label', type: 'VARCHAR' },
      ],
      key: [],
      changelog: false,
      refreshMs: null,
    };
    gc();
    const before = process.memoryUsage();
    const t0 = performance.now();
    let matched = 0;
    let t1: number;
    let probe: (batch: Row[]) => void;
    if (layout === 'rows') {
      const lookup = await rowsLayout(def);
      t1 = performance.now();
      probe = (batch) => {
        for (const r of batch) matched += lookup(r);
      };
    } else {
      const table = new FileReferenceTable(def, async (p) => p, 0);
      await table.load();
      t1 = performance.now();
      const join = new LookupJoinOperator('LookupJoin', table, [(r) => r[0]!, (r) => r[1]!], [(r) => r[0]!, (r) => r[1]!], 4, null, 'INNER', [0, 1]);
      const out = { emit: () => void matched++, error: () => undefined };
      probe = (batch) => join.processBatch(batch, 0, out);
    }
    // The first lookup builds the index of the columns layout (the rows layout built its own while loading).
    probe([[0, 0]]);
    const t2 = performance.now();
    gc();
    const after = process.memoryUsage();

    const maxLookups = Number(values.lookups);
    const deadline = performance.now() + Number(values.seconds) * 1000;
    const xways = Math.ceil(rows / SEGMENTS);
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    let lookups = 0;
    matched = 0;
    const t3 = performance.now();
    while (lookups < maxLookups && performance.now() < deadline) {
      const batch: Row[] = [];
      // One probe in ten misses (a segment past the last one).
      for (let i = 0; i < 1000; i++) batch.push([random() % xways, random() % (SEGMENTS + SEGMENTS / 10)]);
      probe(batch);
      lookups += batch.length;
    }
    const t4 = performance.now();
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    return {
      layout,
      rows,
      csvMb: size / MB,
      loadMs: t1 - t0,
      indexMs: t2 - t1,
      rssGrowthMb: (after.rss - before.rss) / MB,
      heapGrowthMb: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / MB,
      peakRssMb,
      lookups,
      lookupsPerSecond: lookups / ((t4 - t3) / 1000),
      matched,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(layout: Layout, rows: number): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('../../bin/run-ts.mjs', import.meta.url)), [process.argv[1]!, '--child', `${layout}:${rows}`, '--lookups', values.lookups!, '--seconds', values.seconds!], {
      execArgv: [...process.execArgv, '--expose-gc', '--max-old-space-size=4096'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('message', (m) => resolve(m as Figures));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`the ${rows}-row run of the ${layout} layout exited with ${code}`));
    });
  });
}

if (values.child) {
  const [layout, rows] = values.child.split(':');
  const figures = await measure(layout === 'rows' ? 'rows' : 'columns', Number(rows));
  process.send!(figures);
} else {
  const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log('| layout | rows | CSV MB | load ms | index ms | RSS growth MB | heap+buffers growth MB | peak RSS MB | lookups/s | matched |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const layouts = values.layout!.split(',').filter((l): l is Layout => l === 'rows' || l === 'columns');
  for (const rows of values.rows!.split(',').map(Number)) {
    for (const layout of layouts) {
      const f = await runChild(layout, rows);
      console.log(`| ${f.layout} | ${fmt(f.rows)} | ${fmt(f.csvMb, 1)} | ${fmt(f.loadMs)} | ${fmt(f.indexMs)} | ${fmt(f.rssGrowthMb)} | ${fmt(f.heapGrowthMb)} | ${fmt(f.peakRssMb)} | ${fmt(f.lookupsPerSecond)} | ${fmt(f.matched)} of ${fmt(f.lookups)} |`);
    }
  }
}
