/**
 * The continuous-query routes of the native API: create, list, describe, explain, stop, resume and drop
 * queries that run on the log inside the server (src/queries).
 */
import { TollstreamError } from '../../core/errors.ts';
import type { CreateQueryRequest, QueryManager } from '../../queries/index.ts';
import { readBody, send, type Request, type Response } from '../http.ts';
import { invalidField, isObject, jsonObject, onlyFields, stringField } from '../validate.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };
/** A query is SQL text and a few names: 1 MiB bounds what is parsed. */
const MAX_BODY_BYTES = 1024 * 1024;
const CREATE_FIELDS = new Set(['name', 'sql', 'input', 'inputs', 'outputs', 'startPosition']);

export type QueryRoute = 'listQueries' | 'createQuery' | 'describeQuery' | 'explainQuery' | 'dropQuery' | 'stopQuery' | 'resumeQuery';

/** `/v1/queries[/{name}[/explain|/stop|/resume]]` -> its route, or undefined. `parts` are the path after `/v1/`, decoded. */
export function matchQueryRoute(method: string, parts: readonly string[]): { route: QueryRoute; name?: string } | undefined {
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
