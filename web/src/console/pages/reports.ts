/** Reports: the named warehouse reports, run with their parameters, shown as a table and a chart. */
import { formatCents } from '../../lib/money.ts';
import { axisLabel, axisWidth, chartOf, isMoneyColumn, shortCategory, type ChartSpec, type Column, type ReportChartData } from '../../lib/report-series.ts';
import { responsiveChart, uPlot, type ChartHandle } from '../../ui/chart.ts';
import { dataTable, h, replace } from '../../ui/dom.ts';
import { describeError, type Page } from '../context.ts';

interface ReportInfo {
  readonly name: string;
  readonly description: string;
  readonly parameters: readonly string[];
  /** What the server uses for a parameter left out (the CLI gets the same). */
  readonly defaults?: { readonly rangeHours: number; readonly limit: number };
  /** How the report asks to be charted; without it the page picks a column. */
  readonly chart?: ChartSpec;
}

interface ReportAnswer {
  readonly columns: Column[];
  readonly rows: unknown[][];
  readonly freshnessSeconds: number | null;
}

const PARAM_LABELS: Readonly<Record<string, string>> = {
  from: 'From (UTC)',
  to: 'To (UTC)',
  plaza: 'Plaza id',
  class: 'Vehicle class (1-5)',
  limit: 'Limit',
};

/** The rows with their `_cents` columns shown as money, in the row's `currency` when it has one. */
function moneyRows(columns: readonly Column[], rows: ReadonlyArray<ReadonlyArray<unknown>>): unknown[][] {
  const currencyAt = columns.findIndex((c) => c.name === 'currency');
  const money = columns.map((c) => isMoneyColumn(c.name));
  if (!money.includes(true)) return rows.map((r) => [...r]);
  const cents = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN);
  return rows.map((r) => r.map((v, i) => (money[i] && Number.isSafeInteger(cents(v)) ? formatCents(cents(v), currencyAt >= 0 ? String(r[currencyAt] ?? 'USD') : 'USD') : v)));
}

/** `2026-11-26T08:00` of a Date, for a datetime-local input read as UTC. */
const inputTime = (ms: number) => new Date(ms).toISOString().slice(0, 16);

/** Half a step of room on each side, so the first and last bars are whole (an hour either side of one time). */
function padRange(min: number, max: number, points: number, time: boolean): [number, number] {
  // With one point uPlot hands over a made-up max (years later on a time scale): centre on the point instead.
  if (points <= 1 || min === max) return time ? [min - 3600, min + 3600] : [min - 0.5, min + 0.5];
  const half = (max - min) / (points - 1) / 2;
  return [min - half, max + half];
}

/** Colours of the value series in order, and of threshold lines (dashed, so they read apart also without colour). */
const VALUE_COLOURS = ['#0a58b0', '#1b7f3b', '#8a4fbf', '#b36b00', '#00838f', '#5d6b7a'];
const THRESHOLD_COLOUR = '#c62828';

/** The uPlot series of a chart: bars when one value is drawn, lines when several are compared; thresholds dashed. */
function plotSeries(chart: ReportChartData): uPlot.Series[] {
  const bars = chart.lines.filter((l) => !l.threshold).length === 1;
  let colour = 0;
  return chart.lines.map((line): uPlot.Series => {
    if (line.threshold) return { label: line.label, stroke: THRESHOLD_COLOUR, width: 2, dash: [6, 4], points: { show: false }, spanGaps: true };
    const stroke = VALUE_COLOURS[colour++ % VALUE_COLOURS.length]!;
    return bars
      ? { label: line.label, stroke, fill: '#9cc3ee', width: 1, paths: uPlot.paths.bars!({ size: [0.7, 48] }), points: { show: false } }
      : { label: line.label, stroke, width: 2, points: { show: chart.x.length < 60, size: 7 } };
  });
}

/** What the chart shows, for its accessible name. */
function describeChart(chart: ReportChartData): string {
  const values = chart.lines.filter((l) => !l.threshold).map((l) => l.label);
  const thresholds = chart.lines.filter((l) => l.threshold).map((l) => l.label);
  return `Chart of ${values.join(', ')} by ${chart.xName}${thresholds.length > 0 ? `, with ${thresholds.join(', ')} as a dashed line` : ''}; the numbers are in the table below.`;
}

export const reportsPage: Page = (container, ctx) => {
  const error = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const picker = h('select', { id: 'report' });
  const description = h('p', { class: 'muted', id: 'report-description' });
  const params = h('div', { class: 'params' });
  const runButton = h('button', { type: 'submit' }, 'Run report');
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'report' }, 'Report'), picker, description),
    params,
    runButton,
  );
  const result = h('div', { 'aria-live': 'polite' });
  replace(container, error, form, result);
  picker.setAttribute('aria-describedby', 'report-description');

  let reports: ReportInfo[] = [];
  let chart: ChartHandle | undefined;
  let stopped = false;

  const showParams = () => {
    const r = reports.find((x) => x.name === picker.value);
    description.textContent = r?.description ?? '';
    params.replaceChildren(
      ...(r?.parameters ?? []).map((p) => {
        const id = `param-${p}`;
        const attrs: Record<string, string | number | boolean> = { id, name: p, autocomplete: 'off' };
        // The same range and limit as the server's (and so the CLI's) when the parameter is left out.
        const rangeHours = r?.defaults?.rangeHours ?? 24;
        if (p === 'from' || p === 'to') Object.assign(attrs, { type: 'datetime-local', value: inputTime(p === 'from' ? Date.now() - rangeHours * 3_600_000 : Date.now() + 60_000) });
        else if (p === 'class') Object.assign(attrs, { type: 'number', min: 1, max: 5, step: 1 });
        else if (p === 'limit') Object.assign(attrs, { type: 'number', min: 1, step: 1, value: r?.defaults?.limit ?? 10 });
        return h('div', { class: 'field' }, h('label', { for: id }, PARAM_LABELS[p] ?? p), h('input', attrs));
      }),
    );
  };
  picker.addEventListener('change', showParams);

  void ctx.json<{ reports: ReportInfo[] }>('/v1/reports').then(
    (answer) => {
      if (stopped) return;
      reports = answer.reports;
      replace(picker, ...reports.map((r) => h('option', { value: r.name }, r.name)));
      showParams();
    },
    (err: unknown) => {
      error.hidden = false;
      error.textContent = `Could not list the reports: ${describeError(err)}`;
      runButton.disabled = true;
    },
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = picker.value;
    if (!name) return;
    const query = new URLSearchParams();
    for (const input of params.querySelectorAll('input')) {
      if (input.value === '') continue;
      query.set(input.name, input.type === 'datetime-local' ? `${input.value}:00Z` : input.value);
    }
    runButton.disabled = true;
    replace(result, h('p', { class: 'loading' }, `Running ${name}…`));
    try {
      const answer = await ctx.json<ReportAnswer>(`/v1/reports/${encodeURIComponent(name)}?${query}`);
      chart?.destroy();
      chart = undefined;
      const chartBox = h('div', { class: 'chart', role: 'img' });
      const freshness = answer.freshnessSeconds === null ? 'The warehouse holds no rows yet.' : `Data is ${Math.round(answer.freshnessSeconds)} s behind the stream.`;
      replace(
        result,
        h('section', { class: 'card', 'aria-label': `Result of ${name}` }, h('h2', {}, name), h('p', { class: 'muted' }, `${answer.rows.length} rows. ${freshness}`), chartBox, answer.rows.length === 0 ? h('p', { class: 'muted' }, 'No rows in this range.') : dataTable(answer.columns.map((c) => c.name), moneyRows(answer.columns, answer.rows.slice(0, 2000)), `${name}${answer.rows.length > 2000 ? ' (first 2000 rows)' : ''}`)),
      );
      const info = reports.find((r) => r.name === name);
      const plotted = chartOf(answer.columns, answer.rows, info?.chart);
      if (plotted && plotted.x.length > 0) {
        chartBox.setAttribute('aria-label', describeChart(plotted));
        const { categories, money, time, x } = plotted;
        const currencyAt = answer.columns.findIndex((c) => c.name === 'currency');
        const currency = currencyAt >= 0 ? String(answer.rows[0]?.[currencyAt] ?? 'USD') : 'USD';
        chart = responsiveChart(
          chartBox,
          {
            height: 220,
            legend: { live: false },
            scales: { x: { time, range: (_u, min, max) => padRange(min, max, x.length, time) }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
            axes: [
              { stroke: '#4a5361', ...(time ? {} : { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => (Number.isInteger(t) ? shortCategory(categories[t] ?? '') : '')) }) },
              // Money as money, and an axis as wide as its longest label so none is clipped.
              { stroke: '#4a5361', values: (_u: uPlot, ticks: number[]) => ticks.map((t) => axisLabel(t, money, currency)), size: (_u: uPlot, values: string[] | null) => axisWidth(values ?? []) },
            ],
            series: [{ label: plotted.xName, ...(time ? {} : { value: (_u: uPlot, v: number) => categories[v] ?? '' }) }, ...plotSeries(plotted)],
          },
          [x, ...plotted.lines.map((l) => l.values)],
        );
      } else {
        chartBox.remove();
      }
    } catch (err) {
      replace(result, h('div', { class: 'notice error', role: 'alert' }, `The report failed: ${describeError(err)}`));
    } finally {
      runButton.disabled = false;
    }
  });

  return () => {
    stopped = true;
    chart?.destroy();
  };
};
