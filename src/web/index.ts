/**
 * The browser pages' server side: a route module that serves the Vite build (the operator console, the pages
 * apps declare and their assets), and what an app declares of its pages (read by the build and the server).
 * The one public door.
 */
export { createStaticRoutes, type RouteModule, type StaticRequest, type StaticResponse, type StaticRoutesOptions } from './static-routes.ts';
export { checkWebPages, consolePageFile, CONSOLE_PATH, type ConsolePage, type ConsolePageLink, type WebPage, type WebPages } from './pages.ts';
