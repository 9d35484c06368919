/** The SQL console: read-only SQL against the warehouse, a results table and a CSV download. */
import { toCsv } from '../../lib/csv.ts';
import type { Column } from '../../lib/report-series.ts';
import { dataTable, h, replace } from '../../ui/dom.ts';
import { describeError, type Page } from '../context.ts';

const SHOWN_ROWS = 1000;

export const sqlPage: Page = (container, ctx) => {
  const sql = h('textarea', { id: 'sql', class: 'code', rows: 6, spellcheck: 'false', 'aria-describedby': 'sql-hint' });
  sql.value = sessionStorage.getItem('tollstream.console.sql') ?? 'SELECT plaza_id, count(*) AS trips, sum(amount_cents) AS revenue_cents\nFROM toll_transactions\nGROUP BY plaza_id\nORDER BY plaza_id';
  const runButton = h('button', { type: 'submit' }, 'Run');
  const download = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Download CSV');
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'sql' }, 'SQL (read-only, against the warehouse)'), sql, h('p', { id: 'sql-hint', class: 'hint' }, 'Tables: toll_transactions, station_reference. Ctrl+Enter runs the query.')),
    h('div', { class: 'row' }, runButton, download),
  );
  const result = h('div', { 'aria-live': 'polite' });
  replace(container, form, result);

  let last: { columns: Column[]; rows: unknown[][] } | undefined;
  const run = async () => {
    const text = sql.value.trim();
    if (text === '') {
      replace(result, h('p', { class: 'error', role: 'alert' }, 'Enter a SQL statement.'));
      return;
    }
    sessionStorage.setItem('tollstream.console.sql', sql.value);
    runButton.disabled = true;
    replace(result, h('p', { class: 'loading' }, 'Running…'));
    const started = performance.now();
    try {
      const answer = await ctx.json<{ columns: Column[]; rows: unknown[][]; freshnessSeconds: number | null }>('/v1/warehouse/query', { method: 'POST', body: { sql: text } });
      last = answer;
      download.disabled = false;
      const ms = Math.round(performance.now() - started);
      const shown = answer.rows.slice(0, SHOWN_ROWS);
      replace(
        result,
        h('p', { class: 'muted', 'data-testid': 'sql-summary' }, `${answer.rows.length} rows in ${ms} ms${answer.rows.length > SHOWN_ROWS ? ` (first ${SHOWN_ROWS} shown; the CSV has all)` : ''}.${answer.freshnessSeconds === null ? '' : ` Warehouse data is ${Math.round(answer.freshnessSeconds)} s behind the stream.`}`),
        answer.columns.length === 0 ? null : dataTable(answer.columns.map((c) => c.name), shown, 'Query result'),
      );
    } catch (err) {
      last = undefined;
      download.disabled = true;
      replace(result, h('div', { class: 'notice error', role: 'alert' }, describeError(err)));
    } finally {
      runButton.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  sql.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void run();
    }
  });
  download.addEventListener('click', () => {
    if (!last) return;
    const blob = new Blob([toCsv(last.columns.map((c) => c.name), last.rows)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `query-${new Date().toISOString().replace(/[:.]/g, '-')}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  return () => undefined;
};
