/**
 * /metrics of a real `tollstream up`, after a little traffic so that labelled series exist, passes
 * `promtool check metrics` (Debian's prometheus package): counters end in `_total`, units are base units,
 * every family has HELP and TYPE, and the process metrics every Prometheus client exports are there. The
 * Grafana dashboard and alerting rules in deploy/ use only metrics it exposes.
 */
import fs from 'node:fs';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUp, tempDir, type UpProcess } from '../cli/helpers.ts';
import { dashboardExpressions, missingMetrics, promtool, ruleExpressions } from './metric-names.ts';

let server: UpProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir('promtool');
  server = await startUp(['--data-dir', dataDir]);
}, 60_000);
afterAll(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function drive(url: string): Promise<void> {
  const kinesis = new KinesisClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const toll = { transaction_id: 'T-1', customer_id: 'C0000001', tag_id: 'TAG-1', plate: 'ABC-1234', plaza_id: 'P01', lane: 1, vehicle_class: 2, amount_cents: 250, currency: 'USD', event_time: new Date().toISOString() };
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: 'toll_transactions',
        Records: [
          { PartitionKey: toll.customer_id, Data: new TextEncoder().encode(JSON.stringify(toll)) },
          { PartitionKey: 'bad', Data: new TextEncoder().encode('{"not":"a toll"}') },
        ],
      }),
    );
    expect(out.FailedRecordCount).toBe(0);
  } finally {
    kinesis.destroy();
  }
  const query = await fetch(`${url}/v1/warehouse/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT 1 AS one' }) });
  expect(query.status).toBe(200);
}

describe('/metrics', () => {
  it('passes promtool check metrics with labelled series and the process metrics', async () => {
    await drive(server.url);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();

    // The traffic above made labelled series, so the check covers them and not only empty families.
    expect(text).toMatch(/^tollstream_records_in_total\{stream="toll_transactions",shard="shardId-\d+"\} [1-9]/m);
    // The embedded log is on this machine: always reachable.
    expect(text).toMatch(/^tollstream_log_reachable 1$/m);
    expect(text).toMatch(/^tollstream_requests_total\{api="kinesis",operation="PutRecords",status="200"\} 1$/m);
    expect(text).toMatch(/^tollstream_request_duration_seconds_bucket\{api="native",[^}]*le="\+Inf"\} [1-9]/m);
    for (const name of ['process_cpu_seconds_total', 'process_start_time_seconds', 'process_resident_memory_bytes', 'process_open_fds', 'process_max_fds', 'process_virtual_memory_bytes']) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
      expect(text).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
    expect(Number(/^process_start_time_seconds (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(Date.now() / 1000 - 600);

    const check = await promtool(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);

    // The shipped Grafana dashboard and alerting rules refer only to metrics this server exposes.
    const deploy = new URL('../../deploy/', import.meta.url).pathname;
    expect(missingMetrics(dashboardExpressions(`${deploy}grafana/tollstream-dashboard.json`), text)).toEqual([]);
    expect(missingMetrics(ruleExpressions(`${deploy}prometheus/tollstream-alerts.yml`), text)).toEqual([]);
  }, 60_000);
});
