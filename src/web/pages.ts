/**
 * Browser pages beside the console's, declared by whoever brings them (an app, `src/app-contract/`): read by the
 * build (`web/vite.config.ts`, which builds them with the console in one Vite build) and by the server (which
 * serves what they declare). Nothing here loads a page's code, so the build reads declarations without the server.
 */
import { TollstreamError } from '../core/errors.ts';

/** What an app adds to the browser pages. Paths are relative to `dir`. */
export interface WebPages {
  /** The folder of the sources (absolute): `fileURLToPath(new URL('./web/', import.meta.url))`. */
  readonly dir: string;
  /** Pages of its own, each served at `/<path>/`. */
  readonly pages?: readonly WebPage[];
  /** Pages of the operator console, listed in its menu after the console's own. */
  readonly consolePages?: readonly ConsolePage[];
}

export interface WebPage {
  /** The URL's first segment: the page answers `/<path>/` and its deep links. Lower-case letters, digits and -. */
  readonly path: string;
  /** What it is, for the server's not-found page: `the ABC Tolls app`. */
  readonly title: string;
  /** Its HTML entry, relative to `dir`; scripts and styles it names are bundled with the other pages'. */
  readonly html: string;
  /** A folder (relative to `dir`) copied as it is beside the page: a service worker, a manifest, icons. */
  readonly publicDir?: string;
}

export interface ConsolePage {
  /** The hash route (`#/<id>`) and menu entry's id. Lower-case letters, digits and -. */
  readonly id: string;
  /** The menu entry and the page's heading. */
  readonly title: string;
  /**
   * Its module, relative to `dir`; its default export is the page, a `Page` of `web/src/console/context.ts`
   * (it draws into the content area, and returns what stops its timers and streams).
   */
  readonly module: string;
}

/** The name of the console's own page folder and the bundles', which no page of an app may take. */
export const CONSOLE_PATH = 'console';
export const ASSETS_PATH = 'assets';

/** Where the build puts a console page's module, relative to the build's root (served under /console/). */
export function consolePageFile(id: string): string {
  return `${CONSOLE_PATH}/pages/${id}.js`;
}

/** What the console reads at `/console/pages.json`: the pages apps add to it, each with its module's URL. */
export interface ConsolePageLink {
  readonly id: string;
  readonly title: string;
  readonly module: string;
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * Checks the declarations together: names well formed, no page at the console's or the bundles' path, none
 * declared twice (two apps' pages would overwrite each other in the build). Throws APP_MODULE_INVALID naming the page.
 */
export function checkWebPages(declared: readonly { readonly pages?: readonly Pick<WebPage, 'path'>[]; readonly consolePages?: readonly Pick<ConsolePage, 'id'>[] }[]): void {
  const paths = new Set<string>([CONSOLE_PATH, ASSETS_PATH]);
  const ids = new Set<string>();
  for (const web of declared) {
    for (const page of web.pages ?? []) {
      if (!NAME.test(page.path)) throw invalid(`the page path '${page.path}' is not lower-case letters, digits and - (at most 40, a letter first)`, { page: page.path });
      if (paths.has(page.path)) throw invalid(`the page path '/${page.path}/' is already taken`, { page: page.path });
      paths.add(page.path);
    }
    for (const page of web.consolePages ?? []) {
      if (!NAME.test(page.id)) throw invalid(`the console page id '${page.id}' is not lower-case letters, digits and - (at most 40, a letter first)`, { consolePage: page.id });
      if (ids.has(page.id)) throw invalid(`the console page '${page.id}' is declared twice`, { consolePage: page.id });
      ids.add(page.id);
    }
  }
}

function invalid(message: string, context: Record<string, string>): TollstreamError {
  return new TollstreamError('APP_MODULE_INVALID', message, { context });
}
