/**
 * The customer API of ABC Tolls over HTTP: the one public door. `createCustomerApi` returns a route module
 * (`matches`, `handle`) that the gateway mounts in front of its own routes; see docs/abc-tolls.md, "HTTP API".
 */
export { createCustomerApi, customerTokens, type CustomerApiOptions } from './customer-api.ts';
export type { IncomingRequest, OutgoingResponse } from './io.ts';
export { alertText, type AlertText } from './alert-text.ts';
export { listRoutes as customerApiRoutes } from './routes.ts';
export { unsubscribeLinks, type UnsubscribeLinks } from './unsubscribe.ts';
