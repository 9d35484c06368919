/**
 * The Tollstream operator console (/console/): sign in with an API key (kept for this browser tab only),
 * then Streams, History, Queries, Functions & delivery, Reports, SQL and a live tail, one page per hash route, and
 * after them the pages the server's apps add (listed at /console/pages.json, each loaded from its module when shown).
 */
import '../styles.css';
import './console.css';
import { ApiError } from '../lib/api.ts';
import { h, replace } from '../ui/dom.ts';
import { createContext, type Page } from './context.ts';
import type { ConsolePageLink } from '../../../src/web/index.ts';
import { deliveryPage } from './pages/delivery.ts';
import { historyPage } from './pages/history.ts';
import { queriesPage } from './pages/queries.ts';
import { reportsPage } from './pages/reports.ts';
import { sqlPage } from './pages/sql.ts';
import { streamsPage } from './pages/streams.ts';
import { tailPage } from './pages/tail.ts';

const KEY = 'tollstream.console.key';
const root = document.getElementById('root')!;

interface ConsolePageEntry {
  readonly id: string;
  readonly title: string;
  readonly page: Page;
}

const PAGES: readonly ConsolePageEntry[] = [
  { id: 'streams', title: 'Streams', page: streamsPage },
  { id: 'history', title: 'History', page: historyPage },
  { id: 'queries', title: 'Queries', page: queriesPage },
  { id: 'delivery', title: 'Functions & delivery', page: deliveryPage },
  { id: 'reports', title: 'Reports', page: reportsPage },
  { id: 'sql', title: 'SQL', page: sqlPage },
  { id: 'tail', title: 'Live tail', page: tailPage },
];

const stored = sessionStorage.getItem(KEY);
if (stored === null) signIn();
else void shell(stored);

/** The console pages the apps add (none when the list cannot be read), after the console's own, which keep their ids. */
async function appPages(): Promise<ConsolePageEntry[]> {
  let links: ConsolePageLink[];
  try {
    const res = await fetch('/console/pages.json', { headers: { accept: 'application/json' } });
    links = res.ok ? ((await res.json()) as ConsolePageLink[]) : [];
  } catch {
    links = [];
  }
  return links.filter((link) => !PAGES.some((p) => p.id === link.id)).map((link) => ({ id: link.id, title: link.title, page: modulePage(link) }));
}

/** A page whose code is loaded from its module the first time it is shown (the module's default export). */
function modulePage(link: ConsolePageLink): Page {
  let loaded: Promise<Page> | undefined;
  return (container, ctx, path) => {
    let stop: (() => void) | undefined;
    let left = false;
    loaded ??= import(/* @vite-ignore */ link.module).then((m: { default: Page }) => m.default);
    loaded.then(
      (page) => {
        if (!left) stop = page(container, ctx, path);
      },
      (err: unknown) => {
        loaded = undefined;
        if (!left) replace(container, h('p', { class: 'error', role: 'alert' }, `The page could not be loaded: ${(err as Error).message}. Reload to try again.`));
      },
    );
    return () => {
      left = true;
      stop?.();
    };
  };
}

function signIn(message?: string): void {
  document.title = 'Sign in — Tollstream console';
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'current-password', spellcheck: 'false', 'aria-describedby': 'api-key-hint api-key-error' });
  const error = h('p', { id: 'api-key-error', class: 'error', role: 'alert' }, message ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card signin', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input, h('p', { id: 'api-key-hint', class: 'hint' }, 'A key from auth.apiKeys of the server config. Leave it empty when the server runs in local mode (no keys configured). It is kept for this tab only.')),
    error,
    button,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    button.disabled = true;
    error.textContent = '';
    try {
      await createContext(key, () => undefined).json('/v1/streams');
      sessionStorage.setItem(KEY, key);
      await shell(key);
    } catch (err) {
      error.textContent =
        err instanceof ApiError && err.status === 401
          ? key === ''
            ? 'This server needs an API key.'
            : 'That API key was not accepted.'
          : err instanceof ApiError && err.isNetwork
            ? 'The server cannot be reached.'
            : `Signing in failed: ${(err as Error).message}`;
      input.setAttribute('aria-invalid', 'true');
      button.disabled = false;
      input.focus();
    }
  });
  replace(
    root,
    h('header', { class: 'topbar' }, h('span', { class: 'brand' }, 'Tollstream console')),
    h('main', { id: 'main', class: 'signin-page' }, h('h1', {}, 'Operator sign-in'), form),
    h('div', { id: 'announcer', class: 'sr-only', 'aria-live': 'polite' }),
  );
  input.focus();
}

async function shell(key: string): Promise<void> {
  const pages = [...PAGES, ...(await appPages())];
  let stop: (() => void) | undefined;
  const signOut = (message?: string) => {
    stop?.();
    stop = undefined;
    window.removeEventListener('hashchange', route);
    sessionStorage.removeItem(KEY);
    signIn(message);
  };
  const ctx = createContext(key, () => signOut('The API key is no longer accepted. Sign in again.'));
  const links = pages.map((p) => h('a', { href: `#/${p.id}`, 'data-page': p.id }, p.title));
  const content = h('div', { class: 'content' });
  const heading = h('h1', { id: 'page-title', tabindex: -1 });
  const signOutButton = h('button', { type: 'button', class: 'link' }, 'Sign out');
  signOutButton.addEventListener('click', () => signOut());
  replace(
    root,
    h('header', { class: 'topbar' }, h('span', { class: 'brand' }, 'Tollstream console'), h('span', { class: 'spacer' }), h('span', { class: 'mode' }, key === '' ? 'local mode' : 'signed in'), signOutButton),
    h('div', { class: 'layout' }, h('nav', { 'aria-label': 'Console pages' }, h('ul', {}, ...links.map((a) => h('li', {}, a)))), h('main', { id: 'main' }, heading, content)),
    h('div', { id: 'announcer', class: 'sr-only', 'aria-live': 'polite' }),
  );

  let first = true;
  function route(): void {
    const [id = '', ...path] = location.hash.replace(/^#\/?/, '').split('/');
    const page = pages.find((p) => p.id === (id || 'streams')) ?? pages[0]!;
    stop?.();
    for (const a of links) {
      if (a.dataset.page === page.id) {
        a.setAttribute('aria-current', 'page');
        // On a phone the tab row scrolls sideways: keep the current page's tab in view.
        a.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      }
      else a.removeAttribute('aria-current');
    }
    heading.textContent = page.title;
    document.title = `${page.title} — Tollstream console`;
    content.replaceChildren();
    stop = page.page(content, ctx, path.filter((p) => p !== '').map(decodeSegment));
    // Move focus to the new page's heading on navigation (not on the first load), as a screen reader expects.
    if (!first) heading.focus();
    first = false;
  }
  window.addEventListener('hashchange', route);
  route();
}

/** A segment of the hash route as typed; a broken escape is taken as it stands. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
