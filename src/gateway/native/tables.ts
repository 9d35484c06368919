/**
 * The tables read routes of the native API (operator key), so a function's user can read what it wrote:
 *   GET /v1/tables                                   the tables
 *   GET /v1/tables/{table}/items/{pk}[?sk=SK]        one item (404 when absent)
 *   GET /v1/tables/{table}/query?pk=PK[&prefix=P][&limit=N][&cursor=C][&order=asc|desc]
 *                                                    the items of one partition key, by sort key prefix
 *   GET /v1/tables/{table}/scan[?limit=N][&cursor=C] every item, one page at a time
 * Writes stay with functions and the components that own the tables.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { TableStore } from '../../tables/index.ts';
import type { RouteModule } from '../http.ts';
import { operatorRoutes, sendJson, type OperatorRoutesOptions } from './route-module.ts';
import { intParam, invalidParameter } from '../validate.ts';

const PREFIX = '/v1/tables';

/** The routes over the tables of `store` (SQLite through `sqliteTableStore`, or PostgreSQL on a cluster node). */
export function createTablesApi(store: Pick<TableStore, 'listTables' | 'get' | 'query' | 'scan'>, options: OperatorRoutesOptions): RouteModule {
  return operatorRoutes(PREFIX, options, [
    { pattern: 'GET /v1/tables', route: async (_req, res) => sendJson(res, 200, { tables: await store.listTables() }) },
    {
      pattern: 'GET /v1/tables/:table/items/:pk',
      route: async (_req, res, { table, pk }, query) => {
        const sk = query.get('sk');
        const key = sk === null ? { pk: pk! } : { pk: pk!, sk };
        const item = await store.get(table!, key);
        if (!item) throw new TollstreamError('NOT_FOUND', `table '${table}' has no item ${JSON.stringify(key)}`, { context: { table, pk } });
        sendJson(res, 200, item);
      },
    },
    {
      pattern: 'GET /v1/tables/:table/query',
      route: async (_req, res, { table }, query) => {
        const partition = query.get('pk');
        if (partition === null) throw invalidParameter('pk', 'query needs pk: the partition key whose items to read');
        const order = query.get('order') ?? 'asc';
        if (order !== 'asc' && order !== 'desc') throw invalidParameter('order', `order must be asc or desc, got '${order}'`);
        const prefix = query.get('prefix');
        const cursor = query.get('cursor');
        const page = await store.query(table!, partition, {
          limit: intParam(query, 'limit', 1, 1000, 100),
          order,
          ...(prefix === null ? {} : { sk: { beginsWith: prefix } }),
          ...(cursor === null ? {} : { cursor }),
        });
        sendJson(res, 200, page);
      },
    },
    {
      pattern: 'GET /v1/tables/:table/scan',
      route: async (_req, res, { table }, query) => {
        const cursor = query.get('cursor');
        sendJson(res, 200, await store.scan(table!, { limit: intParam(query, 'limit', 1, 1000, 100), ...(cursor === null ? {} : { cursor }) }));
      },
    },
  ], 'the tables routes are listed in docs/functions.md');
}
