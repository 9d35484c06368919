/**
 * The ingest gateway: Kinesis Data Streams and Firehose JSON APIs, the native HTTP API, /health and
 * /metrics on one port (HTTP/1.1 and cleartext HTTP/2). The one public door.
 */
export { createGateway } from './gateway.ts';
export type { Gateway, GatewayOptions } from './gateway.ts';
export type { DeliveryView } from './aws/context.ts';
export type { RouteModule, Request, Response, ServedRoute } from './http.ts';
// The plumbing route modules share with the gateway: capped bodies, complete responses, native error shape.
export { readBody, send, asResponse, ClientGoneError } from './http.ts';
export { errorResponse } from './errors.ts';
// Routes behind the operator's key: key check, path parts, native errors, JSON bodies and parameters.
export { operatorRoutes, sendJson, readJsonObject, type OperatorRoute, type OperatorRoutesOptions } from './native/route-module.ts';
// The one router: a table of `METHOD /path/:param` routes, with HEAD, 405 + Allow and path decoding for free.
export { createRouter, methodNotAllowedError, type Router, type RouteSpec, type RouteMatch } from './router.ts';
// The one request-validation kit: JSON bodies, unknown fields and parameters refused, typed fields and ranges.
export { invalidField, invalidParameter, jsonObject, isObject, onlyFields, onlyParams, stringField, integerField, intParam, pathParts } from './validate.ts';
export { jsonBody } from './validate.ts';
export { createAuthenticator } from './auth/index.ts';
export { createFunctionsApi } from './native/functions.ts';
export { createTablesApi } from './native/tables.ts';
export type { Authenticator, ForeignCredential } from './auth/index.ts';
export { KINESIS_LIMITS } from './aws/kinesis-records.ts';
export { FIREHOSE_LIMITS } from './aws/firehose.ts';
export { ITERATOR_TTL_MS } from './aws/iterators.ts';
