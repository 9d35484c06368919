/**
 * The Vite plugin that builds the apps' pages with the console's, from what the apps declare (`WebPages`, listed in
 * `src/apps/web.ts`): each page's HTML is an input of the one build, written to `<path>/index.html` with its
 * public folder copied beside it, and each console page's module is written to `console/pages/<id>.js` (see
 * `consolePageFile`), where the console loads it from. The pages share one chunk graph, so the platform's code they
 * import (`web/src/ui`, `web/src/lib`) is shipped once. In development the same paths are answered from the sources.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'vite';
import { checkWebPages, consolePageFile, CONSOLE_PATH, type ConsolePageLink, type WebPages } from '../src/web/index.ts';

/** A page of the build: where it is served (`/<path>/`), its HTML entry and its public folder (absolute). */
export interface BuiltPage {
  readonly path: string;
  readonly html: string;
  readonly publicDir?: string;
}

/** The console and every declared page, for the build's inputs. */
export function builtPages(consoleHtml: string, declared: readonly WebPages[]): BuiltPage[] {
  checkWebPages(declared);
  return [
    { path: CONSOLE_PATH, html: consoleHtml },
    ...declared.flatMap((web) =>
      (web.pages ?? []).map((page) => ({ path: page.path, html: path.join(web.dir, page.html), ...(page.publicDir ? { publicDir: path.join(web.dir, page.publicDir) } : {}) })),
    ),
  ];
}

export function appPages(root: string, pages: readonly BuiltPage[], declared: readonly WebPages[]): Plugin {
  const consolePages = declared.flatMap((web) => (web.consolePages ?? []).map((page) => ({ ...page, file: path.join(web.dir, page.module) })));
  const urlOf = (file: string) => `/${path.relative(root, file).split(path.sep).join('/')}`;
  let building = false;
  return {
    name: 'tollstream:app-pages',
    enforce: 'post',
    configResolved(config) {
      building = config.command === 'build';
    },
    buildStart() {
      if (!building) return;
      // Entries of their own, so their exports (the page) survive and the console can import them by a known name.
      for (const page of consolePages) this.emitFile({ type: 'chunk', id: page.file, fileName: consolePageFile(page.id), preserveSignature: 'strict' });
    },
    generateBundle(_options, bundle) {
      for (const page of pages) {
        const built = urlOf(page.html).slice(1);
        const html = bundle[built];
        if (html?.type !== 'asset') this.error(`the page /${page.path}/ was not built from ${built}`);
        // Moved by emitting it again: a bundle's entries cannot be renamed in place.
        delete bundle[built];
        this.emitFile({ type: 'asset', fileName: `${page.path}/index.html`, source: html.source });
        if (page.publicDir) {
          for (const file of filesUnder(page.publicDir)) {
            this.emitFile({ type: 'asset', fileName: `${page.path}/${path.relative(page.publicDir, file).split(path.sep).join('/')}`, source: fs.readFileSync(file) });
          }
        }
      }
    },
    configureServer(server) {
      const links: ConsolePageLink[] = consolePages.map((page) => ({ id: page.id, title: page.title, module: urlOf(page.file) }));
      server.middlewares.use((req, res, next) => {
        const url = req.url ?? '/';
        const q = url.search(/[?#]/);
        const p = q < 0 ? url : url.slice(0, q);
        if (p === `/${CONSOLE_PATH}/pages.json`) {
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.end(JSON.stringify(links));
          return;
        }
        const [, top = '', ...rest] = p.split('/');
        const page = pages.find((candidate) => candidate.path === top);
        if (page) {
          const file = rest.join('/');
          const inPublic = page.publicDir && file !== '' ? path.join(page.publicDir, file) : undefined;
          // A file of the page's public folder as it is, any other path without an extension the page (a deep link).
          if (inPublic && !path.relative(page.publicDir!, inPublic).startsWith('..') && fs.existsSync(inPublic)) req.url = urlOf(inPublic);
          else if (!path.extname(file)) req.url = urlOf(page.html);
        }
        next();
      });
    },
  };
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}
