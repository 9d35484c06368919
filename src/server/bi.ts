/**
 * The warehouse for BI tools: with `bi.enabled`, a PostgreSQL wire-protocol port over the DuckDB warehouse, on a
 * loopback address, sharing the warehouse's query slots with the HTTP routes.
 */
import { DEFAULT_CONFIG, warehouseLimits, type TollstreamConfig } from '../config/index.ts';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { startPgWireServer, type PgWireServer } from '../pgwire/index.ts';
import type { QuerySlots, Warehouse } from '../warehouse/index.ts';
import { isLoopbackHost } from './exposure.ts';

/** Refuses (CONFIG_INVALID) a BI port beyond loopback: it has no TLS. Checked before anything opens. */
export function checkBiExposure(config: TollstreamConfig): void {
  const host = config.bi.host ?? DEFAULT_CONFIG.bi.host!;
  if (config.bi.enabled && !isLoopbackHost(host)) {
    throw new TollstreamError('CONFIG_INVALID', `bi.host must be a loopback address (got ${host}): the PostgreSQL port has no TLS; reach it from elsewhere through an SSH tunnel`, {
      context: { key: 'bi.host', host },
    });
  }
}

export async function startBi(config: TollstreamConfig, warehouse: Warehouse, slots: QuerySlots, logger: Logger): Promise<PgWireServer> {
  const d = DEFAULT_CONFIG.bi;
  const password = config.bi.password;
  if (password === undefined) throw new TollstreamError('CONFIG_INVALID', 'bi.enabled needs bi.password (or TOLLSTREAM_BI_PASSWORD)', { context: { key: 'bi.password' } });
  return startPgWireServer(
    {
      warehouse,
      user: config.bi.user ?? d.user!,
      password,
      slots,
      maxResultRows: warehouseLimits(config).maxResultRows,
      maxConnections: config.bi.maxConnections ?? d.maxConnections!,
      logger,
    },
    config.bi.port ?? d.port!,
    config.bi.host ?? d.host!,
  );
}
