import type { App } from '../../app-contract/index.ts';
import { loadConfig, sectionFlags, settingFlags, type SettingFlag, type TollstreamConfig } from '../../config/index.ts';
import { stringFlag, type Command, type CommandInput, type OptionSpec } from '../command.ts';

/**
 * Every platform setting is a flag of its own, made from its key by the schema (`cluster.nodeName` is
 * `--cluster-node-name`), so a setting added to the schema is a flag at once.
 */
const GENERATED = settingFlags();
/** Shorter names of a few settings' flags, kept beside the generated ones. */
const SHORT_FLAGS: Readonly<Record<string, string>> = { 'log-level': 'logging.level', fsync: 'storage.fsync' };
/** The flags of `up` and the keys they set (the CLI layer of the config). */
const CONFIG_FLAGS: Readonly<Record<string, string>> = { ...Object.fromEntries(GENERATED.map((s) => [s.flag, s.key])), ...SHORT_FLAGS };

const HAND_WRITTEN: Readonly<Record<string, OptionSpec>> = {
  'data-dir': { type: 'string', value: 'DIR', description: 'where data lives (dataDir, default ./data)' },
  port: { type: 'string', value: 'N', description: 'HTTP port, 0 for any free port (port, default 4566)' },
  host: { type: 'string', value: 'H', description: 'address to bind (host, default 127.0.0.1; any other needs auth.apiKeys and auth.accessKeys)' },
  'log-level': { type: 'string', value: 'L', description: 'debug, info, warn, error or silent (logging.level, default info)' },
  fsync: { type: 'string', value: 'MODE', description: 'always or interval (storage.fsync, default always)' },
};
const SETTING_OPTIONS: Readonly<Record<string, OptionSpec>> = { ...HAND_WRITTEN, ...optionsOf(GENERATED.filter((s) => HAND_WRITTEN[s.flag] === undefined)) };

function optionsOf(settings: readonly SettingFlag[]): Record<string, OptionSpec> {
  return Object.fromEntries(
    settings.map((s) => [
      s.flag,
      { type: 'string', value: s.takes === 'JSON' ? 'JSON' : 'V', description: `${s.key}: ${s.takes}${s.defaultText === undefined ? '' : ` (default ${s.defaultText})`}` },
    ]),
  );
}

/**
 * The flags of the shipped apps' settings (`alerts.windowSeconds` is `--alerts-window-seconds`), loaded only once
 * `up` is chosen: the apps are code that the other commands should not load. A user's app (the `apps` setting) is
 * known only from the config, read after the flags, so its settings have none.
 */
export async function shippedAppFlags(): Promise<readonly SettingFlag[]> {
  const { SHIPPED_APPS } = await import('../../apps/index.ts');
  const { appConfigSections } = await import('../../app-contract/index.ts');
  return sectionFlags(SHIPPED_APPS.flatMap((app) => appConfigSections(app)));
}

export const up: Command = {
  name: 'up',
  summary: 'Start the server: the stream log, the warehouse with its delivery, and the Kinesis, Firehose and native APIs on one port.',
  description:
    'Settings come from the defaults, then tollstream.config.{json,ts} (or --config), then TOLLSTREAM_* variables, then these flags.\n' +
    "Every setting is a flag named after its key (cluster.nodeName: --cluster-node-name), the shipped apps' too (alerts.windowSeconds: --alerts-window-seconds); lists and objects are JSON.\n" +
    'Runs the shipped apps and the modules the apps setting names (docs/apps.md).\n' +
    'Prints "tollstream ready at URL (MODE)" on stdout once it accepts requests, MODE saying who may call; logs go to stderr. Ctrl-C or SIGTERM stops it cleanly.',
  positionals: { min: 0, max: 0 },
  stoppable: true,
  options: {
    config: { type: 'string', value: 'FILE', description: 'config file (default ./tollstream.config.{json,ts} or $TOLLSTREAM_CONFIG)' },
    ...SETTING_OPTIONS,
  },
  loadOptions: async () => optionsOf(await shippedAppFlags()),
  examples: ['tollstream up', 'tollstream up --config /etc/tollstream/config.json --host 0.0.0.0   # the config sets auth.apiKeys and auth.accessKeys', 'tollstream up --port 0 --fsync interval', 'tollstream up --cluster-nats-servers \'["nats://10.0.0.1:4222"]\' --cluster-postgres-url postgres://tollstream@10.0.0.9/tollstream --cluster-node-name node-1'],
  async run({ values, io }) {
    const { config, apps } = await upConfig(values, io.env);
    // Loaded here so that client commands do not pay for loading the server.
    const { startServer, ACCESS_LABELS } = await import('../../server/index.ts');
    const server = await startServer(config, { apps });
    io.stdout.write(`tollstream ready at ${server.url} (${ACCESS_LABELS[server.access]})\n`);

    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    return 0;
  },
};

/**
 * The config `up` runs with and the apps it runs: the shipped ones and the modules of the `apps` setting, loaded
 * from the user's folder before the rest of the config is read, so their sections are checked with the platform's
 * settings. `cwd` is where relative paths start. @default cwd process.cwd()
 */
export async function upConfig(values: CommandInput['values'], env: Readonly<Record<string, string | undefined>>, cwd?: string): Promise<{ config: TollstreamConfig; apps: App[] }> {
  const flags = configFlags(values, await shippedAppFlags());
  const configFile = stringFlag(values, 'config');
  // The one list of the apps the server ships with; the server itself knows none of them.
  const { SHIPPED_APPS } = await import('../../apps/index.ts');
  const { appConfigSections, loadApps } = await import('../../app-contract/index.ts');
  let apps: App[] = [];
  const sections = async (modules: readonly string[]) => {
    apps = [...SHIPPED_APPS, ...(await loadApps(modules, { alongside: SHIPPED_APPS, ...(cwd === undefined ? {} : { cwd }) }))];
    return apps.flatMap((app) => appConfigSections(app));
  };
  const config = await loadConfig({ env, flags, sections, ...(cwd === undefined ? {} : { cwd }), ...(configFile === undefined ? {} : { configFile }) });
  return { config, apps };
}

/**
 * The settings the flags of `up` set, by key (`{ 'cluster.nodeName': 'node-1' }`): the config's command-line layer.
 * `appFlags` are those of the apps' settings (`shippedAppFlags`). @default appFlags none
 */
export function configFlags(values: CommandInput['values'], appFlags: readonly SettingFlag[] = []): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const [flag, key] of [...Object.entries(CONFIG_FLAGS), ...appFlags.map((s) => [s.flag, s.key] as const)]) {
    const v = stringFlag(values, flag);
    if (v !== undefined) flags[key] = v;
  }
  return flags;
}
