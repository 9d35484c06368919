import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, settingFlags } from '../../config/index.ts';
import { isTollstreamError } from '../../core/errors.ts';
import { parseCommandArgs, withLoadedOptions } from '../command.ts';
import { configFlags, shippedAppFlags, up, upConfig } from './up.ts';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-up-flags-'));
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

/** The config `tollstream up ARGS` would run with (the flags parsed by the command's own spec), without starting it. */
function configOf(args: readonly string[]) {
  return loadConfig({ cwd, env: {}, flags: configFlags(parseCommandArgs(up, args).values) });
}

describe('the flags of tollstream up', () => {
  it('set every cluster setting', async () => {
    const config = await configOf([
      '--cluster-nats-servers', '["nats://10.0.0.1:4222","nats://10.0.0.2:4222"]',
      '--cluster-postgres-url', 'postgres://tollstream@10.0.0.9:5432/tollstream',
      '--cluster-node-name', 'node-7',
      '--cluster-replicas', '5',
      '--cluster-lease-ms', '20000',
      '--cluster-lease-renew-ms', '4000',
    ]);
    expect(config.cluster).toEqual({
      natsServers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222'],
      postgresUrl: 'postgres://tollstream@10.0.0.9:5432/tollstream',
      nodeName: 'node-7',
      replicas: 5,
      leaseMs: 20000,
      leaseRenewMs: 4000,
    });
  });

  it('has a flag for every platform setting, named after its key', () => {
    const settings = settingFlags();
    expect(settings.length).toBeGreaterThan(60);
    for (const { flag, key } of settings) {
      expect(configFlags(parseCommandArgs(up, [`--${flag}`, 'x']).values), flag).toEqual({ [key]: 'x' });
    }
    expect(settings.find((s) => s.key === 'warehouse.memoryLimitMiB')?.flag).toBe('warehouse-memory-limit-mib');
    expect(settings.find((s) => s.key === 'cluster.natsServers')?.flag).toBe('cluster-nats-servers');
  });

  it("set the shipped apps' settings, loaded only once up is chosen", async () => {
    const chosen = await withLoadedOptions(up);
    const { config } = await upConfig(parseCommandArgs(chosen, ['--alerts-window-seconds', '60', '--station-alerts-window-minutes', '15']).values, {}, cwd);
    const sections = config as unknown as Record<string, Record<string, unknown>>;
    expect(sections.alerts?.windowSeconds).toBe(60);
    expect(sections.stationAlerts?.windowMinutes).toBe(15);
    const appFlags = await shippedAppFlags();
    expect(appFlags.map((s) => s.flag)).toEqual(expect.arrayContaining(['alerts-window-seconds', 'alerts-email-smtp-port', 'station-alerts-webhooks', 'reference-stations-file']));
    for (const { flag, key } of appFlags) {
      expect(configFlags(parseCommandArgs(chosen, [`--${flag}`, 'x']).values, appFlags), flag).toEqual({ [key]: 'x' });
    }
    await expect(upConfig(parseCommandArgs(chosen, ['--alerts-window-seconds', '0']).values, {}, cwd)).rejects.toSatisfy(
      (err) => isTollstreamError(err, 'CONFIG_INVALID') && err.message === 'alerts.windowSeconds must be an integer from 1 to 3600, got 0 (flag --alerts-window-seconds)',
    );
  });

  it('refuse a bad value naming the flag and the key', async () => {
    await expect(configOf(['--cluster-nats-servers', '["nats://a:4222"]', '--cluster-postgres-url', 'postgres://u@h/d', '--cluster-node-name', 'n', '--cluster-replicas', '9'])).rejects.toSatisfy(
      (err) => isTollstreamError(err, 'CONFIG_INVALID') && err.message === "cluster.replicas must be an integer from 1 to 5, got 9 (flag --cluster-replicas)",
    );
    await expect(configOf(['--cluster-nats-servers', 'nats://a:4222'])).rejects.toSatisfy((err) => isTollstreamError(err, 'CONFIG_INVALID') && /^cluster\.natsServers must be JSON \(flag --cluster-nats-servers\)/.test(err.message));
    await expect(configOf(['--fsync', 'sometimes'])).rejects.toThrow(/^storage\.fsync must be one of 'always', 'interval', got "sometimes" \(flag --storage-fsync\)$/);
  });
});
