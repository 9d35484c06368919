/** The month's spending chart: bars per day, the running total, and the threshold as a dashed line. */
import { responsiveChart, uPlot, type ChartHandle } from '../../../../web/src/ui/chart.ts';
import { formatCents } from '../../../../web/src/lib/money.ts';
import type { Spend } from './api.ts';

export type SpendChart = ChartHandle;

const DAY = 86_400;

export function spendChart(container: HTMLElement, spend: Spend): SpendChart {
  const m = /^(\d{4})-(\d{2})$/.exec(spend.month);
  const year = m ? Number(m[1]) : new Date().getUTCFullYear();
  const month = m ? Number(m[2]) - 1 : new Date().getUTCMonth();
  const first = Date.UTC(year, month, 1) / 1000;
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const byDate = new Map(spend.days.map((d) => [d.date, d.total_cents]));
  const today = new Date();
  const thisMonth = today.getFullYear() === year && today.getMonth() === month;
  const lastDataDay = spend.days.reduce((max, d) => Math.max(max, Number(d.date.slice(8, 10))), 0);
  const lastDay = Math.max(lastDataDay, thisMonth ? today.getDate() : daysInMonth);

  const xs: number[] = [];
  const daily: Array<number | null> = [];
  const running: Array<number | null> = [];
  const threshold: Array<number | null> = [];
  let sum = 0;
  for (let d = 1; d <= daysInMonth; d++) {
    xs.push(first + (d - 1) * DAY);
    const date = `${spend.month}-${String(d).padStart(2, '0')}`;
    const cents = byDate.get(date) ?? 0;
    sum += cents;
    daily.push(d <= lastDay ? cents / 100 : null);
    running.push(d <= lastDay ? sum / 100 : null);
    threshold.push(spend.threshold_cents === null ? null : spend.threshold_cents / 100);
  }
  const money = (v: number | null) => (v === null ? '—' : formatCents(Math.round(v * 100), spend.currency));
  const bars = uPlot.paths.bars!({ size: [0.7, 40] });
  const options: Omit<uPlot.Options, 'width'> = {
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'UTC'),
    cursor: { y: false },
    legend: { show: true, live: false },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max, (spend.threshold_cents ?? 0) / 100) * 1.1] } },
    axes: [
      { values: (_u, ticks) => ticks.map((t) => String(new Date(t * 1000).getUTCDate())), stroke: '#4a5361', grid: { show: false } },
      { values: (_u, ticks) => ticks.map((t) => `$${t >= 1000 ? `${Math.round(t / 100) / 10}k` : t}`), stroke: '#4a5361', size: 56, grid: { stroke: '#e3e8ef' } },
    ],
    series: [
      { value: (_u, v) => (v === null ? '' : new Date(v * 1000).toISOString().slice(0, 10)), label: 'Day' },
      { label: 'That day', paths: bars, fill: '#9cc3ee', stroke: '#0a58b0', width: 1, value: (_u, v) => money(v), points: { show: false } },
      { label: 'Month so far', stroke: '#0b3d6e', width: 2, value: (_u, v) => money(v), points: { show: false } },
      { label: 'Threshold', stroke: '#a4161a', width: 2, dash: [6, 4], value: (_u, v) => money(v), points: { show: false } },
    ],
  };
  return responsiveChart(container, options, [xs, daily, running, threshold]);
}
