/**
 * The station traffic alerts' sections of the config, `stationAlerts` and `reference` (the station reference file):
 * declared by the app, read and checked by the config loader with the platform's settings (docs/configuration.md
 * lists them with them).
 */
import path from 'node:path';
import { sectionSettings, type ConfigSection } from '../../app-contract/index.ts';
import type { TollstreamConfig } from '../../config/index.ts';

export interface StationAlertsSettings {
  /** Count vehicles per station and window, and alert operators below the station's reference threshold. @default true */
  readonly enabled: boolean;
  /** Length of a counted window, in minutes (divides a day; divides or is a multiple of 30). @default 30 */
  readonly windowMinutes: number;
  /** Expected vehicles of a station slot without a reference row. @default 0 */
  readonly defaultExpected: number;
  /** Alert threshold of a station slot without a reference row: 0 means stations without reference data never alert. @default 0 */
  readonly defaultThreshold: number;
  /** Webhooks subscribed to the `station-alerts` topic at start: `[{ "url": "https://...", "secret": "..." }]`. @default [] */
  readonly webhooks: readonly { readonly url: string; readonly secret: string }[];
}

export const STATION_ALERTS_DEFAULTS: StationAlertsSettings = { enabled: true, windowMinutes: 30, defaultExpected: 0, defaultThreshold: 0, webhooks: [] };

export const STATION_ALERTS_SECTION: ConfigSection = {
  name: 'stationAlerts',
  settings: {
    enabled: { type: 'boolean' },
    // Checked further when the alerts start: the window must divide a day and line up with 30-minute slots.
    windowMinutes: { type: 'integer', min: 1, max: 1440 },
    defaultExpected: { type: 'integer', min: 0, max: 1_000_000_000 },
    defaultThreshold: { type: 'integer', min: 0, max: 1_000_000_000 },
    webhooks: { type: 'json', check: checkWebhooks },
  },
  defaults: STATION_ALERTS_DEFAULTS as unknown as Record<string, unknown>,
};

/** The station reference file of the config, `reference.stationsFile`. */
export interface StationReferenceSettings {
  /**
   * Station reference data (CSV with a header row, or a JSON array; `.csv` or `.json`) loaded into the warehouse
   * at every start, replacing what it held; relative to where the server starts. Needs `warehouse.enabled`.
   * @default none (keep what the warehouse holds)
   */
  readonly stationsFile?: string;
}

/**
 * The `reference` section, which holds the file of the station reference data. It is the app's (the platform
 * knows reference data only as what apps declare), under the name it has always had.
 */
export const STATION_REFERENCE_SECTION: ConfigSection = {
  name: 'reference',
  settings: { stationsFile: { type: 'string' } },
  defaults: {},
  requiresEnabled: [['reference.stationsFile', 'warehouse.enabled']],
  resolve: (values, cwd) => {
    const { stationsFile } = values as StationReferenceSettings;
    return stationsFile === undefined ? {} : { stationsFile: path.resolve(cwd, stationsFile) };
  },
};

/** The station reference file of `config`, if one is set. */
export function stationReferenceFile(config: TollstreamConfig): string | undefined {
  return sectionSettings<StationReferenceSettings>(config, STATION_REFERENCE_SECTION).stationsFile;
}

/** The settings of `config`, or the defaults when it was built without the section. */
export function stationAlertsSettings(config: TollstreamConfig): StationAlertsSettings {
  return sectionSettings<StationAlertsSettings>(config, STATION_ALERTS_SECTION);
}

/**
 * The section with `settings` over the defaults, to spread into a config built by hand (a library entry point, a
 * test), which the loader did not fill: `{ ...DEFAULT_CONFIG, ...stationAlertsConfig({ enabled: false }) }`.
 */
export function stationAlertsConfig(settings: Partial<StationAlertsSettings>): { readonly stationAlerts: StationAlertsSettings } {
  return { stationAlerts: { ...STATION_ALERTS_DEFAULTS, ...settings } };
}

function checkWebhooks(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of { url, secret }';
  for (const [i, w] of v.entries()) {
    if (typeof w !== 'object' || w === null) return `[${i}] must be an object`;
    const unknown = Object.keys(w).find((k) => k !== 'url' && k !== 'secret');
    if (unknown) return `[${i}] has unknown key '${unknown}'`;
    const { url, secret } = w as Record<string, unknown>;
    if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) return `[${i}].url must be an http:// or https:// URL`;
    if (typeof secret !== 'string' || secret.length < 16) return `[${i}].secret must be a string of 16 characters or more`;
  }
  return undefined;
}
