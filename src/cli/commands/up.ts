import type { App } from '../../app-contract/index.ts';
import { loadConfig } from '../../config/index.ts';
import { stringFlag, type Command } from '../command.ts';

/** Flags of `up` and the config keys they set (the CLI layer of the config). */
const CONFIG_FLAGS: Readonly<Record<string, string>> = {
  'data-dir': 'dataDir',
  port: 'port',
  host: 'host',
  'log-level': 'logging.level',
  fsync: 'storage.fsync',
};

export const up: Command = {
  name: 'up',
  summary: 'Start the server: the stream log, the warehouse with its delivery, and the Kinesis, Firehose and native APIs on one port.',
  description:
    'Settings come from the defaults, then tollstream.config.{json,ts} (or --config), then TOLLSTREAM_* variables, then these flags.\n' +
    'Runs the shipped apps and the modules the apps setting names (docs/apps.md).\n' +
    'Prints "tollstream ready at URL (MODE)" on stdout once it accepts requests, MODE saying who may call; logs go to stderr. Ctrl-C or SIGTERM stops it cleanly.',
  positionals: { min: 0, max: 0 },
  stoppable: true,
  options: {
    config: { type: 'string', value: 'FILE', description: 'config file (default ./tollstream.config.{json,ts} or $TOLLSTREAM_CONFIG)' },
    'data-dir': { type: 'string', value: 'DIR', description: 'where data lives (dataDir, default ./data)' },
    port: { type: 'string', value: 'N', description: 'HTTP port, 0 for any free port (port, default 4566)' },
    host: { type: 'string', value: 'H', description: 'address to bind (host, default 127.0.0.1; any other needs auth.apiKeys and auth.accessKeys)' },
    'log-level': { type: 'string', value: 'L', description: 'debug, info, warn, error or silent (logging.level, default info)' },
    fsync: { type: 'string', value: 'MODE', description: 'always or interval (storage.fsync, default always)' },
  },
  examples: ['tollstream up', 'tollstream up --config /etc/tollstream/config.json --host 0.0.0.0   # the config sets auth.apiKeys and auth.accessKeys', 'tollstream up --port 0 --fsync interval'],
  async run({ values, io }) {
    const flags: Record<string, string> = {};
    for (const [flag, key] of Object.entries(CONFIG_FLAGS)) {
      const v = stringFlag(values, flag);
      if (v !== undefined) flags[key] = v;
    }
    const configFile = stringFlag(values, 'config');
    // Loaded here so that client commands do not pay for loading the server.
    const { startServer, ACCESS_LABELS } = await import('../../server/index.ts');
    // The one list of the apps the server ships with; the server itself knows none of them.
    const { SHIPPED_APPS } = await import('../../apps/index.ts');
    // The user's own apps (the `apps` setting) run beside them, loaded the same way from the user's folder, before
    // the rest of the config is read: their config sections are checked with the platform's settings.
    const { appConfigSections, loadApps } = await import('../../app-contract/index.ts');
    let apps: App[] = [];
    const sections = async (modules: readonly string[]) => {
      apps = [...SHIPPED_APPS, ...(await loadApps(modules, { alongside: SHIPPED_APPS }))];
      return apps.flatMap((app) => appConfigSections(app));
    };
    const config = await loadConfig({ env: io.env, flags, sections, ...(configFile === undefined ? {} : { configFile }) });
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
