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
import { noRoute, operatorRoutes, sendJson, type OperatorRoutesOptions } from './route-module.ts';
import { intParam, invalidParameter } from '../validate.ts';

const PREFIX = '/v1/tables';

/** The routes over the tables of `store` (SQLite through `sqliteTableStore`, or PostgreSQL on a cluster node). */
export function createTablesApi(store: Pick<TableStore, 'listTables' | 'get' | 'query' | 'scan'>, options: OperatorRoutesOptions): RouteModule {
  return operatorRoutes(PREFIX, options, async (req, res, parts, query) => {
    const [table, what, pk, ...extra] = parts;
    if (table === undefined) return sendJson(res, 200, { tables: await store.listTables() });
    const cursor = query.get('cursor') ?? undefined;
    if (what === 'items' && pk !== undefined && extra.length === 0) {
      const sk = query.get('sk');
      const item = await store.get(table, sk === null ? { pk } : { pk, sk });
      if (!item) throw new TollstreamError('NOT_FOUND', `table '${table}' has no item ${JSON.stringify(sk === null ? { pk } : { pk, sk })}`, { context: { table, pk } });
      return sendJson(res, 200, item);
    }
    if (what === 'query' && pk === undefined) {
      const partition = query.get('pk');
      if (partition === null) throw invalidParameter('pk', 'query needs pk: the partition key whose items to read');
      const order = query.get('order') ?? 'asc';
      if (order !== 'asc' && order !== 'desc') throw invalidParameter('order', `order must be asc or desc, got '${order}'`);
      const prefix = query.get('prefix');
      const page = await store.query(table, partition, {
        limit: intParam(query, 'limit', 1, 1000, 100),
        order,
        ...(prefix === null ? {} : { sk: { beginsWith: prefix } }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return sendJson(res, 200, page);
    }
    if (what === 'scan' && pk === undefined) {
      return sendJson(res, 200, await store.scan(table, { limit: intParam(query, 'limit', 1, 1000, 100), ...(cursor === undefined ? {} : { cursor }) }));
    }
    throw noRoute(req, req.url ?? PREFIX, 'the tables routes are listed in docs/functions.md');
  }, tableMethods);
}

/** Every tables route is read-only: GET (the gateway answers HEAD as GET). */
function tableMethods([table, what, pk, ...extra]: readonly string[]): readonly string[] {
  if (table === undefined) return ['GET'];
  if (what === 'items') return pk !== undefined && extra.length === 0 ? ['GET'] : [];
  return (what === 'query' || what === 'scan') && pk === undefined ? ['GET'] : [];
}
