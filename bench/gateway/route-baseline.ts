/**
 * The baseline of bench/gateway/route.ts: the native API's path matcher as it was before the route table (commit
 * a95aaa2, `src/gateway/native/routes.ts` with the query and reference-file matchers), kept only to be measured
 * against. It splits and decodes every path, then compares segments by hand.
 */
import { pathParts } from '../../src/gateway/validate.ts';

export interface BaselineMatch {
  readonly route: string;
  readonly stream?: string;
  readonly report?: string;
  readonly queryName?: string;
  readonly fileName?: string;
  readonly reference?: string;
  readonly query: URLSearchParams;
}

export function baselineMatchRoute(method: string, url: string): BaselineMatch {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const parts = pathParts(path);
  if (parts[1] === 'v1' && parts[2] !== 'streams') return matchWarehouseRoute(method, parts, query);
  // ['', 'v1', 'streams', name?, action?]
  if (parts[1] !== 'v1' || parts[2] !== 'streams') return { route: 'unknown', query };
  if (parts.length === 3 || (parts.length === 4 && parts[3] === '')) {
    if (method === 'GET') return { route: 'listStreams', query };
    if (method === 'POST') return { route: 'createStream', query };
    return { route: 'unknown', query };
  }
  const stream = parts[3]!;
  if (parts.length === 4) {
    if (method === 'GET') return { route: 'describeStream', stream, query };
    if (method === 'DELETE') return { route: 'deleteStream', stream, query };
  } else if (parts.length === 5) {
    if (parts[4] === 'records' && method === 'POST') return { route: 'putRecords', stream, query };
    if (parts[4] === 'tail' && method === 'GET') return { route: 'tail', stream, query };
  }
  return { route: 'unknown', query };
}

/** `/v1/reports[/{name}]`, `/v1/warehouse/query`, `/v1/reference/{name}`, `/v1/reference/files[/{name}]`, `/v1/queries[...]`. */
function matchWarehouseRoute(method: string, parts: readonly string[], query: URLSearchParams): BaselineMatch {
  const rest = parts.slice(2);
  const queryRoute = matchQueryRoute(method, rest);
  if (queryRoute) return { route: queryRoute.route, ...(queryRoute.name === undefined ? {} : { queryName: queryRoute.name }), query };
  const fileRoute = matchReferenceFileRoute(method, rest);
  if (fileRoute) return { route: fileRoute.route, ...(fileRoute.name === undefined ? {} : { fileName: fileRoute.name }), query };
  if (rest[0] === 'reports' && method === 'GET') {
    if (rest.length === 1 || (rest.length === 2 && rest[1] === '')) return { route: 'listReports', query };
    if (rest.length === 2) {
      return { route: 'runReport', report: rest[1]!, query };
    }
  }
  if (rest.length === 2 && rest[0] === 'warehouse' && rest[1] === 'query' && method === 'POST') return { route: 'queryWarehouse', query };
  // `files` is the queries' reference files (above), never reference data.
  if (rest.length === 2 && rest[0] === 'reference' && rest[1] !== 'files' && rest[1] !== '' && method === 'PUT') {
    return { route: 'replaceReference', reference: rest[1]!, query };
  }
  return { route: 'unknown', query };
}

function matchQueryRoute(method: string, parts: readonly string[]): { route: string; name?: string } | undefined {
  if (parts[0] !== 'queries') return undefined;
  if (parts.length === 1 || (parts.length === 2 && parts[1] === '')) {
    if (method === 'GET') return { route: 'listQueries' };
    if (method === 'POST') return { route: 'createQuery' };
    return undefined;
  }
  const name = parts[1]!;
  if (parts.length === 2) {
    if (method === 'GET') return { route: 'describeQuery', name };
    if (method === 'DELETE') return { route: 'dropQuery', name };
  } else if (parts.length === 3) {
    if (parts[2] === 'explain' && method === 'GET') return { route: 'explainQuery', name };
    if (parts[2] === 'stop' && method === 'POST') return { route: 'stopQuery', name };
    if (parts[2] === 'resume' && method === 'POST') return { route: 'resumeQuery', name };
  }
  return undefined;
}

function matchReferenceFileRoute(method: string, parts: readonly string[]): { route: string; name?: string } | undefined {
  if (parts[0] !== 'reference' || parts[1] !== 'files') return undefined;
  if (parts.length === 2 || (parts.length === 3 && parts[2] === '')) return method === 'GET' ? { route: 'listReferenceFiles' } : undefined;
  if (parts.length !== 3) return undefined;
  const name = parts[2]!;
  if (method === 'PUT') return { route: 'putReferenceFile', name };
  if (method === 'DELETE') return { route: 'deleteReferenceFile', name };
  return undefined;
}
