/** A small element builder: the pages are plain DOM, so this is the whole "framework". */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/**
 * `h('button', { type: 'button', onclick: fn }, 'Save')`. Attributes named `on*` with a function become
 * listeners; `true` sets a boolean attribute, `false`/`null`/`undefined` leave it out. Text is always set as
 * text, never parsed as HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces every child of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A table of rows; numbers are right-aligned; `null` shows as an em dash. */
export function dataTable(columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>, caption?: string): HTMLElement {
  const numeric = columns.map((_c, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const table = h(
    'table',
    {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, ...columns.map((c, i) => h('th', { scope: 'col', class: numeric[i] ? 'num' : null }, c)))),
    // A cell may be an element (a button, a link): it is placed as it is.
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((v, i) => h('td', { class: numeric[i] ? 'num' : null }, v instanceof Node ? v : cellText(v)))))),
  );
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption ?? 'Results' }, table);
}

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : String(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Announces text to screen readers through a polite live region that exists on every page. */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A fresh text node after a tick makes screen readers read the same message twice in a row too.
  setTimeout(() => (region.textContent = text), 50);
}
