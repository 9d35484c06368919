/**
 * The continuous-query routes of the native API: create, list, describe, explain, stop, resume and drop
 * queries that run on the log inside the server (src/queries).
 */
import { TollstreamError } from '../../core/errors.ts';
import type { CreateQueryRequest, QueryManager } from '../../queries/index.ts';
import { readBody, send, type Request, type Response } from '../http.ts';
import type { RouteSpec } from '../router.ts';
import { invalidField, isObject, jsonObject, onlyFields, stringField } from '../validate.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };
/** A query is SQL text and a few names: 1 MiB bounds what is parsed. */
const MAX_BODY_BYTES = 1024 * 1024;
const CREATE_FIELDS = new Set(['name', 'sql', 'input', 'inputs', 'outputs', 'startPosition']);

export type QueryRoute = 'listQueries' | 'createQuery' | 'describeQuery' | 'explainQuery' | 'dropQuery' | 'stopQuery' | 'resumeQuery';

/** The continuous-query routes, for the native API's route table; `queryName` is the query named in the path. */
export const QUERY_ROUTES: ReadonlyArray<RouteSpec<QueryRoute>> = [
  { pattern: 'GET /v1/queries', route: 'listQueries' },
  { pattern: 'POST /v1/queries', route: 'createQuery' },
  { pattern: 'GET /v1/queries/:queryName', route: 'describeQuery' },
  { pattern: 'DELETE /v1/queries/:queryName', route: 'dropQuery' },
  { pattern: 'GET /v1/queries/:queryName/explain', route: 'explainQuery' },
  { pattern: 'POST /v1/queries/:queryName/stop', route: 'stopQuery' },
  { pattern: 'POST /v1/queries/:queryName/resume', route: 'resumeQuery' },
];

export async function handleQueryRoute(queries: QueryManager | undefined, req: Request, res: Response, route: QueryRoute, name: string | undefined): Promise<void> {
  if (!queries) throw new TollstreamError('NOT_FOUND', 'this server runs no continuous queries');
  switch (route) {
    case 'listQueries':
      return send(res, 200, JSON_HEADERS, JSON.stringify({ queries: queries.listQueries() }));
    case 'createQuery':
      return send(res, 201, JSON_HEADERS, JSON.stringify(await queries.createQuery(createRequest(await readBody(req, MAX_BODY_BYTES)))));
    case 'describeQuery':
      return send(res, 200, JSON_HEADERS, JSON.stringify(queries.info(name!)));
    case 'explainQuery':
      return send(res, 200, JSON_HEADERS, JSON.stringify({ name, plan: await queries.explain(name!) }));
    case 'stopQuery':
      return send(res, 200, JSON_HEADERS, JSON.stringify(await queries.stopQuery(name!)));
    case 'resumeQuery':
      return send(res, 200, JSON_HEADERS, JSON.stringify(await queries.resumeQuery(name!)));
    case 'dropQuery':
      await queries.dropQuery(name!);
      return send(res, 204, {}, '');
  }
}

function createRequest(body: Buffer): CreateQueryRequest {
  const v = onlyFields(jsonObject(body, 'a JSON object { name, sql, input?, inputs?, outputs? }'), CREATE_FIELDS);
  stringField(v, 'name', { required: true });
  stringField(v, 'sql', { required: true, nonEmpty: true });
  if (v.input !== undefined && typeof v.input !== 'string') throw invalidField('input', 'input must be a stream name', v.input);
  for (const field of ['inputs', 'outputs'] as const) {
    const map = v[field];
    if (map === undefined) continue;
    if (!isObject(map) || Object.values(map).some((s) => typeof s !== 'string')) {
      throw invalidField(field, `${field} must be an object of SQL stream name -> log stream name`, map);
    }
  }
  return v as unknown as CreateQueryRequest;
}
