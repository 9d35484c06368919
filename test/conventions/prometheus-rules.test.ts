/**
 * The alerting rules shipped in deploy/prometheus pass `promtool check rules` and their own unit tests
 * (`promtool test rules`), and those unit tests fail when an expectation is wrong.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardExpressions, missingMetrics, ruleExpressions } from './metric-names.ts';

const dir = path.resolve(import.meta.dirname, '../../deploy/prometheus');

function promtool(args: string[], cwd: string): { code: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('deploy/prometheus/tollstream-alerts.yml', () => {
  it('passes promtool check rules', () => {
    const check = promtool(['check', 'rules', 'tollstream-alerts.yml'], dir);
    expect(check.output).toContain('SUCCESS: 11 rules found');
    expect(check.code).toBe(0);
  });

  it('passes its unit tests, which catch a wrong expectation', () => {
    const good = promtool(['test', 'rules', 'tollstream-alerts.test.yml'], dir);
    expect(good.output).toContain('SUCCESS');
    expect(good.code).toBe(0);

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'rules-'));
    try {
      fs.copyFileSync(path.join(dir, 'tollstream-alerts.yml'), path.join(scratch, 'tollstream-alerts.yml'));
      const tests = fs.readFileSync(path.join(dir, 'tollstream-alerts.test.yml'), 'utf8');
      expect(tests).toContain('6m 40s behind');
      fs.writeFileSync(path.join(scratch, 'tollstream-alerts.test.yml'), tests.replace('6m 40s behind', '2m behind'));
      const bad = promtool(['test', 'rules', 'tollstream-alerts.test.yml'], scratch);
      expect(bad.code).not.toBe(0);
      expect(bad.output).toContain('FAILED');
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('missingMetrics', () => {
  it('names a metric that /metrics does not expose, and accepts histogram series of an exposed family', () => {
    const text = '# HELP tollstream_ready r\n# TYPE tollstream_ready gauge\n# HELP tollstream_fsync_duration_seconds f\n# TYPE tollstream_fsync_duration_seconds histogram\n';
    expect(missingMetrics(['tollstream_ready == 0', 'rate(tollstream_fsync_duration_seconds_bucket[5m])', 'tollstream_renamed_total > 0'], text)).toEqual(['tollstream_renamed_total']);
  });

  it('finds the expressions of the shipped dashboard and rules', () => {
    const dashboard = dashboardExpressions(path.resolve(dir, '../grafana/tollstream-dashboard.json'));
    expect(dashboard.some((e) => e.includes('tollstream_function_iterator_age_seconds'))).toBe(true);
    expect(ruleExpressions(path.join(dir, 'tollstream-alerts.yml'))).toHaveLength(11);
  });
});
