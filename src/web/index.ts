/**
 * The browser pages' server side: a route module that serves the Vite build (the customer app, the operator
 * console and their assets). The one public door.
 */
export { createStaticRoutes, type RouteModule, type StaticRequest, type StaticResponse, type StaticRoutesOptions } from './static-routes.ts';
