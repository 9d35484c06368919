/**
 * docs/openapi.json describes the HTTP API a running server answers: every route the server serves is in the
 * document (so a new route without its description fails here), and every operation of the document reaches
 * its route on a server with every feature on, with the credential the document names (and is refused
 * without it). The served routes are those the running server registers (`RunningServer.routes()`: the gateway's
 * route tables and every mounted route module's), so a route added anywhere without its description fails here.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerApiRoutes, unsubscribeLinks } from '../../src/apps/abc-tolls/http/index.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import type { ServedRoute } from '../../src/gateway/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

interface Operation {
  readonly security?: ReadonlyArray<Record<string, unknown>>;
  readonly responses: Record<string, unknown>;
}
interface OpenApiDocument {
  readonly openapi: string;
  readonly security: ReadonlyArray<Record<string, unknown>>;
  readonly paths: Record<string, Record<string, Operation | unknown>>;
  readonly components: { readonly securitySchemes: Record<string, { type: string; scheme?: string }>; readonly schemas: Record<string, unknown> };
}

const DOCUMENT = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

function readDocument(): OpenApiDocument {
  return JSON.parse(fs.readFileSync(DOCUMENT, 'utf8')) as OpenApiDocument;
}

/** `METHOD /path` of every operation in the document. */
function documentedRoutes(doc: OpenApiDocument): string[] {
  const routes: string[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (item[method] !== undefined) routes.push(`${method.toUpperCase()} ${p}`);
  }
  return routes;
}

/** `METHOD /path` with each parameter as `{}`: OpenAPI holds templates that differ only in parameter names to be one path. */
function routeKey(route: string): string {
  return route.replace(/\{[^}]+\}/g, '{}');
}

/** `METHOD /path` of each served route. */
function servedRoutes(served: readonly ServedRoute[]): string[] {
  return served.map((r) => `${r.method} ${r.path}`);
}

/** The served routes the document does not describe. */
function undocumented(doc: OpenApiDocument, served: readonly ServedRoute[]): string[] {
  const documented = new Set(documentedRoutes(doc).map(routeKey));
  return servedRoutes(served).filter((r) => !documented.has(routeKey(r)));
}

/** The documented operations no served route answers. */
function unserved(doc: OpenApiDocument, served: readonly ServedRoute[]): string[] {
  const keys = new Set(servedRoutes(served).map(routeKey));
  return documentedRoutes(doc).filter((r) => !keys.has(routeKey(r)));
}

/** The security scheme names an operation needs: its own `security`, else the document's; none for `[]`. */
function schemesOf(doc: OpenApiDocument, operation: Operation): string[] {
  return (operation.security ?? doc.security).flatMap((requirement) => Object.keys(requirement));
}

interface Schema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly required?: readonly string[];
  readonly properties?: Record<string, Schema>;
  readonly items?: Schema;
  readonly oneOf?: readonly Schema[];
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Where `value` departs from `schema` (types, required properties, recursively), as `where: what` lines. */
function mismatches(doc: OpenApiDocument, schema: Schema, value: unknown, where: string): string[] {
  if (schema.$ref !== undefined) return mismatches(doc, doc.components.schemas[schema.$ref.split('/').pop()!] as Schema, value, where);
  if (schema.oneOf !== undefined) return schema.oneOf.some((s) => mismatches(doc, s, value, where).length === 0) ? [] : [`${where}: fits none of oneOf`];
  const actual = typeOf(value);
  const types = schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : schema.type;
  if (types.length > 0 && !types.includes(actual) && !(actual === 'integer' && types.includes('number'))) return [`${where}: ${actual}, documented ${types.join('|')}`];
  const out: string[] = [];
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) out.push(`${where}.${key}: missing`);
    for (const [key, property] of Object.entries(schema.properties ?? {})) if (key in object) out.push(...mismatches(doc, property, object[key], `${where}.${key}`));
  } else if (actual === 'array' && schema.items !== undefined) {
    (value as unknown[]).forEach((item, i) => out.push(...mismatches(doc, schema.items!, item, `${where}[${i}]`)));
  }
  return out;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 whose references and security schemes all resolve, with the error shape on every operation', () => {
    const doc = readDocument();
    expect(doc.openapi).toBe('3.1.0');
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"\$ref":"#\/components\/(schemas|responses)\/([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    const components = doc.components as unknown as Record<string, Record<string, unknown>>;
    const dangling = refs.filter(([, kind, name]) => components[kind!]?.[name!] === undefined).map(([ref]) => ref);
    expect(dangling).toEqual([]);
    expect(doc.components.schemas.Error).toMatchObject({ required: ['error'], properties: { error: { required: ['code', 'message'] } } });
    const operationIds = new Set<string>();
    for (const route of documentedRoutes(doc)) {
      const [method, p] = route.split(' ') as [string, string];
      const operation = doc.paths[p]![method.toLowerCase()] as Operation & { operationId?: string; parameters?: Array<{ name: string; in: string }> };
      expect(operation.operationId, route).toBeTypeOf('string');
      expect(operationIds.has(operation.operationId!), `${route}: operationId ${operation.operationId} twice`).toBe(false);
      operationIds.add(operation.operationId!);
      // Each {parameter} of the path is declared as a path parameter, on the path or on the operation.
      const declared = [...((doc.paths[p]!.parameters as Array<{ name: string; in: string }> | undefined) ?? []), ...(operation.parameters ?? [])].filter((x) => x.in === 'path').map((x) => x.name);
      expect(declared.sort(), route).toEqual([...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort());
      for (const scheme of schemesOf(doc, operation)) expect(doc.components.securitySchemes[scheme], `${route}: scheme ${scheme}`).toMatchObject({ type: 'http', scheme: 'bearer' });
      // Every operation can fail: its error answers use the one error shape.
      const errors = Object.keys(operation.responses).filter((status) => /^[45]/.test(status));
      expect(errors.length, route).toBeGreaterThan(0);
      expect(Object.keys(operation.responses).some((status) => /^2/.test(status)), route).toBe(true);
    }
  });

  it('names the credential the customer API asks for: the operator key, a customer token for /v1/me, none for a signed link', () => {
    const doc = readDocument();
    const wrong = customerApiRoutes().filter((r) => {
      const operation = doc.paths[r.path]?.[r.method.toLowerCase()] as Operation | undefined;
      return operation === undefined || schemesOf(doc, operation).join() !== (r.audience === 'operator' ? 'operatorKey' : r.audience === 'link' ? '' : 'customerToken');
    });
    expect(wrong).toEqual([]);
  });

});

const OPERATOR_KEY = 'openapi-test-operator-key-0123456789';
const MISSING = 'openapi-missing';
const FUNCTION = 'openapi_fn';

describe('the document against a running server', () => {
  let server: RunningServer;
  let dataDir: string;
  let customerToken: string;
  let customerId: string;
  let reportName: string;
  let queryName: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-openapi-'));
    const config: TollstreamConfig = {
      ...DEFAULT_CONFIG,
      dataDir,
      port: 0,
      host: '127.0.0.1',
      logging: { level: 'silent', format: 'json' },
      auth: { ...DEFAULT_CONFIG.auth, apiKeys: [`sha256:${createHash('sha256').update(OPERATOR_KEY).digest('hex')}`] },
      // Email on, so its unsubscribe link answers; no customer has a threshold, so nothing is mailed.
      ...spendAlertsConfig({ email: { enabled: true, smtpHost: '127.0.0.1', smtpPort: 9, from: 'alerts@tolls.example' } }),
    };
    server = await startServer(config, { apps: SHIPPED_APPS, logger: silentLogger });
    const operator = { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' };
    customerId = 'C-OPENAPI';
    const created = await fetch(`${server.url}/v1/customers`, { method: 'POST', headers: operator, body: JSON.stringify({ customer_id: customerId, email: 'c@example.com' }) });
    expect(created.status).toBe(201);
    const issued = await fetch(`${server.url}/v1/customers/${customerId}/tokens`, { method: 'POST', headers: operator });
    expect(issued.status).toBe(201);
    customerToken = ((await issued.json()) as { token: string }).token;
    const reports = (await (await fetch(`${server.url}/v1/reports`, { headers: operator })).json()) as { reports: Array<{ name: string }> };
    reportName = reports.reports[0]!.name;
    // A function with a table holding one item, so their reads answer 200 and their shapes are checked too.
    const code = "export const tables = ['openapi_t'];\nexport async function handler(event, ctx) {\n  ctx.transact((tx) => { tx.update('openapi_t', { pk: 'p' }, { add: { seen: event.records.length } }); });\n}\n";
    const deployed = await fetch(`${server.url}/v1/functions`, { method: 'POST', headers: operator, body: JSON.stringify({ name: FUNCTION, stream: 'toll_transactions', code }) });
    expect(deployed.status).toBe(201);
    const put = await fetch(`${server.url}/v1/streams/toll_transactions/records`, { method: 'POST', headers: { authorization: operator.authorization }, body: '{"transaction_id":"T-1"}\n' });
    expect(put.status).toBe(200);
    // The function runs on its own: wait until its table holds the item (a bound on waiting, not on speed).
    for (let i = 0; i < 300 && (await fetch(`${server.url}/v1/tables/openapi_t/items/p`, { headers: operator })).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    const queries = (await (await fetch(`${server.url}/v1/queries`, { headers: operator })).json()) as { queries: Array<{ name: string }> };
    queryName = queries.queries[0]?.name ?? MISSING;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A concrete URL path: existing resources for reads, names that exist nowhere for writes. */
  function concrete(method: string, template: string): string {
    const read = method === 'GET';
    // The customer's own unsubscribe link, signed with the server's secret as the emails' links are.
    if (template === '/v1/email/unsubscribe' && read) return new URL(unsubscribeLinks(Buffer.from(fs.readFileSync(path.join(dataDir, 'secret'), 'utf8').trim(), 'hex'), () => server.url).url(customerId)).href.slice(server.url.length);
    return template.replace(/\{(\w+)\}/g, (_all, name: string) => {
      if (name === 'customerId' && read) return customerId;
      if (name === 'name' && read && template.startsWith('/v1/streams/')) return 'toll_transactions';
      if (name === 'name' && template.startsWith('/v1/reports/')) return reportName;
      if (name === 'name' && read && template.startsWith('/v1/queries/')) return queryName;
      if (name === 'name' && read && template.startsWith('/v1/functions/')) return FUNCTION;
      if (name === 'table' && read) return 'openapi_t';
      if (name === 'pk' && read) return 'p';
      if (name === 'id') return '987654321';
      return MISSING;
    });
  }

  function credential(scheme: string | undefined): Record<string, string> {
    if (scheme === 'operatorKey') return { authorization: `Bearer ${OPERATOR_KEY}` };
    if (scheme === 'customerToken') return { authorization: `Bearer ${customerToken}` };
    return {};
  }

  /** Status and error of one request; streamed answers (text/event-stream) are closed after their headers. */
  async function call(method: string, urlPath: string, headers: Record<string, string>): Promise<{ status: number; body?: unknown; error?: { code: string; message: string } }> {
    const abort = new AbortController();
    const hasBody = method !== 'GET' && method !== 'DELETE';
    const res = await fetch(`${server.url}${urlPath}`, {
      method,
      headers: { ...headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      ...(hasBody ? { body: '{}' } : {}),
      signal: abort.signal,
    });
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      abort.abort();
      return { status: res.status };
    }
    const text = await res.text();
    if (res.status < 400) return { status: res.status, ...((res.headers.get('content-type') ?? '').startsWith('application/json') ? { body: JSON.parse(text) as unknown } : {}) };
    return { status: res.status, error: (JSON.parse(text) as { error: { code: string; message: string } }).error };
  }

  /** A 404 that says the route does not exist (rather than the resource it names). */
  const noRoute = (answer: { status: number; error?: { message: string } }) =>
    answer.status === 404 && /^no route |takes .*, not /.test(answer.error?.message ?? '');

  it('describes every route the server registers, and no other', () => {
    const doc = readDocument();
    const served = server.routes();
    // The gateway's own, the native API's, the apps' and the platform's route modules are all among them.
    for (const route of ['GET /health', 'POST /v1/streams/{stream}/records', 'GET /v1/me/trips', 'GET /v1/dead-letters', 'GET /v1/operator/alerts', 'GET /openapi.json']) {
      expect(servedRoutes(served), route).toContain(route);
    }
    expect(undocumented(doc, served)).toEqual([]);
    expect(unserved(doc, served)).toEqual([]);
  });

  it('misses a route as soon as its path leaves the document, or a route the server adds without one', () => {
    const doc = readDocument();
    const { ['/v1/dead-letters']: removed, ...paths } = doc.paths;
    expect(removed).toBeDefined();
    expect(undocumented({ ...doc, paths }, server.routes())).toEqual(['GET /v1/dead-letters']);
    expect(undocumented(doc, [...server.routes(), { method: 'GET', path: '/v1/streams/{stream}/undocumented' }])).toEqual(['GET /v1/streams/{stream}/undocumented']);
  });

  it('serves itself at /openapi.json, without a key, exactly as the file holds it', async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual(readDocument());
  });

  it('answers every documented GET path with the documented credential, never "no such route", in the documented shape', async () => {
    const doc = readDocument();
    const failures: string[] = [];
    for (const route of documentedRoutes(doc).filter((r) => r.startsWith('GET '))) {
      const template = route.slice(4);
      const operation = doc.paths[template]!.get as Operation;
      const urlPath = concrete('GET', template) + (template === '/v1/tables/{table}/query' ? '?pk=p' : '');
      const answer = await call('GET', urlPath, credential(schemesOf(doc, operation)[0]));
      const documented = Object.keys(operation.responses).includes(String(answer.status));
      // Every path names resources that exist (see beforeAll), so every read succeeds.
      if (answer.status < 200 || answer.status > 299 || !documented) failures.push(`${route} -> ${answer.status} ${answer.error?.message ?? ''}`);
      // A JSON answer has the documented shape (an error answer was parsed as the error shape above).
      const content = (operation.responses[String(answer.status)] as { content?: Record<string, { schema: Schema }> } | undefined)?.content;
      if (answer.body !== undefined) {
        const schema = content?.['application/json']?.schema;
        if (schema === undefined) failures.push(`${route} -> ${answer.status} answered JSON, none documented`);
        else failures.push(...mismatches(doc, schema, answer.body, route));
      }
    }
    expect(failures).toEqual([]);
  });

  it('reaches the route of every documented operation, and refuses a secured one without its credential', async () => {
    const doc = readDocument();
    const failures: string[] = [];
    for (const route of documentedRoutes(doc)) {
      const [method, template] = route.split(' ') as [string, string];
      const operation = doc.paths[template]![method.toLowerCase()] as Operation;
      const scheme = schemesOf(doc, operation)[0];
      const urlPath = concrete(method, template);
      const answer = await call(method, urlPath, credential(scheme));
      if (noRoute(answer)) failures.push(`${route} -> no route: ${answer.error?.message}`);
      else if (answer.status === 401) failures.push(`${route} -> 401 with the documented credential (${scheme ?? 'none'})`);
      else if (!Object.keys(operation.responses).includes(String(answer.status))) failures.push(`${route} -> ${answer.status}, not documented (${answer.error?.code ?? ''})`);
      if (scheme !== undefined) {
        const refused = await call(method, urlPath, {});
        if (refused.status !== 401 || refused.error?.code !== 'UNAUTHORIZED') failures.push(`${route} without a credential -> ${refused.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers HEAD on every documented GET path but a tail as GET, without a body', async () => {
    const doc = readDocument();
    const failures: string[] = [];
    for (const route of documentedRoutes(doc).filter((r) => r.startsWith('GET ') && !r.endsWith('/tail'))) {
      const template = route.slice(4);
      const headers = credential(schemesOf(doc, doc.paths[template]!.get as Operation)[0]);
      const urlPath = concrete('GET', template) + (template === '/v1/tables/{table}/query' ? '?pk=p' : '');
      const get = await fetch(`${server.url}${urlPath}`, { headers });
      await get.body?.cancel();
      const head = await fetch(`${server.url}${urlPath}`, { method: 'HEAD', headers });
      const body = await head.arrayBuffer();
      if (head.status !== get.status || body.byteLength !== 0 || head.headers.get('content-type') !== get.headers.get('content-type')) {
        failures.push(`HEAD ${template} -> ${head.status} (${body.byteLength} bytes), GET ${get.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers a method a path does not list 405 with Allow naming exactly the methods the document lists (HEAD with GET), as each operation documents', async () => {
    const doc = readDocument();
    const failures: string[] = [];
    for (const [template, item] of Object.entries(doc.paths)) {
      const listed = METHODS.filter((m) => item[m] !== undefined).map((m) => m.toUpperCase());
      // HEAD is answered as GET, except on a tail, which has no end to wait for.
      const allow = listed.flatMap((m) => (m === 'GET' && !template.endsWith('/tail') ? ['GET', 'HEAD'] : [m]));
      const other = ['PATCH', 'PUT', 'DELETE', 'POST', 'GET'].find((m) => !listed.includes(m))!;
      const res = await fetch(`${server.url}${concrete(other, template)}`, { method: other, ...(other === 'GET' ? {} : { body: '{}' }) });
      await res.body?.cancel();
      if (res.status !== 405) failures.push(`${other} ${template} -> ${res.status}`);
      else if ((res.headers.get('allow') ?? '').split(', ').sort().join() !== allow.sort().join()) failures.push(`${other} ${template} -> Allow: ${res.headers.get('allow')}, documented ${allow.join(', ')}`);
      for (const m of listed) {
        const documented = (item[m.toLowerCase()] as Operation).responses['405'] as { $ref?: string } | undefined;
        if (documented?.$ref !== '#/components/responses/MethodNotAllowed') failures.push(`${m} ${template}: no 405 MethodNotAllowed documented`);
      }
    }
    expect(doc.components).toMatchObject({ responses: { MethodNotAllowed: { headers: { Allow: { schema: { type: 'string' } } } } } });
    expect(failures).toEqual([]);
  });
});
