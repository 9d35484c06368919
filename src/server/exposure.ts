/**
 * Who can reach the server, decided from the config before anything opens: a server without keys is for the
 * machine it runs on (local open mode, the zero-configuration default on 127.0.0.1), and one on any other
 * address needs its keys, as Redis' protected mode does. `auth.protectedMode: false` lifts that refusal.
 */
import net from 'node:net';
import type { TollstreamConfig } from '../config/index.ts';
import { TollstreamError } from '../core/errors.ts';

/**
 * `local-open`: a loopback address and not every API has keys, so whoever is on this machine may call what is open.
 * `keys-required`: SigV4 access keys and native API keys are configured; every call but /health and /metrics proves who it is.
 * `open-network`: beyond loopback without keys, allowed only by `auth.protectedMode: false`.
 */
export type AccessMode = 'local-open' | 'keys-required' | 'open-network';

/** Addresses only this machine reaches: 127.0.0.0/8, ::1 (and its IPv4-mapped form) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
  return false;
}

/** The mode `config` runs in; throws CONFIG_INVALID (one line) for an address beyond loopback without keys while protected. */
export function accessMode(config: TollstreamConfig): AccessMode {
  const missing = [config.auth.apiKeys.length === 0 ? 'auth.apiKeys' : undefined, config.auth.accessKeys.length === 0 ? 'auth.accessKeys' : undefined].filter((k) => k !== undefined);
  if (missing.length === 0) return 'keys-required';
  if (isLoopbackHost(config.host)) return 'local-open';
  if (config.auth.protectedMode === false) return 'open-network';
  throw new TollstreamError(
    'CONFIG_INVALID',
    `refusing to listen on ${config.host || 'every address'} with no ${missing.join(' and no ')}: anyone who reaches the port could read, write and delete streams and issue customer tokens. ` +
      `Set ${missing.join(' and ')} (docs/security.md), or bind host to 127.0.0.1; auth.protectedMode: false lifts this check (dangerous).`,
    { context: { key: 'host', host: config.host, missing } },
  );
}

/** A few words for the mode, as `tollstream up` prints it after its URL. */
export const ACCESS_LABELS: Readonly<Record<AccessMode, string>> = {
  'local-open': 'local open mode: this machine only, no keys',
  'keys-required': 'keys required',
  'open-network': 'OPEN NETWORK MODE: no keys, auth.protectedMode is false',
};

/** The line that says at start who may call. */
export function describeAccess(mode: AccessMode, config: TollstreamConfig): string {
  switch (mode) {
    case 'local-open':
      return `local open mode: no keys are needed on ${config.host}, reachable from this machine only; configure auth.apiKeys and auth.accessKeys before listening anywhere else`;
    case 'keys-required':
      return 'keys required: the native API needs an API key and the Kinesis and Firehose APIs a verified SigV4 signature';
    case 'open-network':
      return `open network mode: auth.protectedMode is false and ${config.host} is reachable beyond this machine with no keys; anyone who reaches the port may read, write and delete data`;
  }
}
