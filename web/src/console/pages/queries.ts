/**
 * Streaming SQL queries: list (SQL, state, rows in/out, late rows), EXPLAIN, create and stop. The queries
 * API (`/v1/queries`) is newer than some servers: a 404 shows "not available on this server".
 */
import { ApiError } from '../../lib/api.ts';
import { cellText, h, replace } from '../../ui/dom.ts';
import { describeError, every, type Page } from '../context.ts';

type QueryInfo = Record<string, unknown> & { name: string };

/** The first present field among spellings (the API may use camelCase or snake_case). */
function field(q: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (q[n] !== undefined) return q[n];
  return undefined;
}

export const queriesPage: Page = (container, ctx) => {
  const error = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading queries…'));
  const explainBox = h('div', { 'aria-live': 'polite' });
  const nameInput = h('input', { id: 'query-name', required: true, autocomplete: 'off', spellcheck: 'false', pattern: '[A-Za-z0-9_.-]+' });
  const sqlInput = h('textarea', { id: 'query-sql', class: 'code', rows: 6, required: true, spellcheck: 'false' });
  const formError = h('p', { class: 'error', role: 'alert' });
  const formStatus = h('p', { class: 'status', role: 'status' });
  const createButton = h('button', { type: 'submit' }, 'Create query');
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': 'create-h' },
    h('h2', { id: 'create-h' }, 'New query'),
    h('div', { class: 'field' }, h('label', { for: 'query-name' }, 'Name'), nameInput),
    h('div', { class: 'field' }, h('label', { for: 'query-sql' }, 'SQL'), sqlInput),
    formError,
    createButton,
    formStatus,
  );
  replace(container, error, h('section', { 'aria-labelledby': 'queries-h' }, h('h2', { id: 'queries-h' }, 'Running queries'), list), explainBox, form);

  let unavailable = false;
  const load = async () => {
    try {
      const answer = await ctx.json<{ queries: QueryInfo[] }>('/v1/queries');
      error.hidden = true;
      replace(list, queryTable(answer.queries ?? []));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        unavailable = true;
        replace(list, h('div', { class: 'notice info', 'data-testid': 'queries-unavailable' }, 'Streaming queries are not available on this server: GET /v1/queries answered 404. Try SQL on sample files with `tollstream query` until the server runs queries.'));
        form.hidden = true;
        return;
      }
      error.hidden = false;
      error.textContent = `Could not load the queries: ${describeError(err)}`;
    }
  };

  function queryTable(queries: readonly QueryInfo[]): HTMLElement {
    if (queries.length === 0) return h('p', { class: 'muted' }, 'No queries are running. Create one below.');
    return h(
      'div',
      { class: 'table-wrap', role: 'region', 'aria-label': 'Queries', tabindex: 0 },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['Name', 'State', 'Rows in', 'Rows out', 'Late rows', 'SQL', 'Actions'].map((c, i) => h('th', { scope: 'col', class: i >= 2 && i <= 4 ? 'num' : null }, c)))),
        h(
          'tbody',
          {},
          ...queries.map((q) => {
            const explain = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Explain ${q.name}` }, 'Explain');
            const stopButton = h('button', { type: 'button', class: 'danger small', 'aria-label': `Stop ${q.name}` }, 'Stop');
            explain.addEventListener('click', () => void showExplain(q.name));
            stopButton.addEventListener('click', () => void stopQuery(q.name, stopButton));
            const stats = (field(q, 'stats') ?? {}) as Record<string, unknown>;
            const num = (...names: string[]) => cellText(field(q, ...names) ?? field(stats, ...names) ?? null);
            return h(
              'tr',
              {},
              h('th', { scope: 'row' }, q.name),
              h('td', {}, cellText(field(q, 'state', 'status') ?? null)),
              h('td', { class: 'num' }, num('rowsIn', 'rows_in')),
              h('td', { class: 'num' }, num('rowsOut', 'rows_out')),
              h('td', { class: 'num' }, num('lateRows', 'late_rows', 'lateRowsDropped')),
              h('td', {}, h('code', { class: 'sql-cell' }, String(field(q, 'sql') ?? ''))),
              h('td', {}, h('div', { class: 'row' }, explain, stopButton)),
            );
          }),
        ),
      ),
    );
  }

  async function showExplain(name: string): Promise<void> {
    replace(explainBox, h('p', { class: 'loading' }, `Explaining ${name}…`));
    try {
      const res = await ctx.raw(`/v1/queries/${encodeURIComponent(name)}/explain`);
      const text = await res.text();
      let plan = text;
      try {
        const v = JSON.parse(text) as { plan?: unknown; explain?: unknown };
        const p = v.plan ?? v.explain ?? v;
        plan = typeof p === 'string' ? p : JSON.stringify(p, null, 2);
      } catch {
        // plain text plan
      }
      replace(explainBox, h('section', { class: 'card', 'aria-label': `Plan of ${name}` }, h('h2', {}, `EXPLAIN ${name}`), h('pre', { class: 'plan', tabindex: 0 }, plan)));
    } catch (err) {
      replace(explainBox, h('div', { class: 'notice error', role: 'alert' }, `EXPLAIN failed: ${describeError(err)}`));
    }
  }

  async function stopQuery(name: string, button: HTMLButtonElement): Promise<void> {
    if (!confirm(`Stop the query ${name}? Its output stops until it is created again.`)) return;
    button.disabled = true;
    try {
      await ctx.json(`/v1/queries/${encodeURIComponent(name)}`, { method: 'DELETE' });
      await load();
    } catch (err) {
      button.disabled = false;
      error.hidden = false;
      error.textContent = `Could not stop ${name}: ${describeError(err)}`;
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    formStatus.textContent = '';
    const name = nameInput.value.trim();
    const sql = sqlInput.value.trim();
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      formError.textContent = 'Name the query with letters, digits, _ . or - only.';
      nameInput.focus();
      return;
    }
    if (sql === '') {
      formError.textContent = 'Enter the SQL of the query.';
      sqlInput.focus();
      return;
    }
    createButton.disabled = true;
    try {
      await ctx.json('/v1/queries', { method: 'POST', body: { name, sql } });
      formStatus.textContent = `Query ${name} created.`;
      nameInput.value = '';
      sqlInput.value = '';
      await load();
    } catch (err) {
      formError.textContent = `The query was not created: ${describeError(err)}`;
    } finally {
      createButton.disabled = unavailable;
    }
  });

  return every(5000, async () => {
    if (!unavailable) await load();
  });
};
