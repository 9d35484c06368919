/** Output formats of a report result: an aligned text table, CSV (RFC 4180), or JSON. */
import type { QueryValue } from '../warehouse/index.ts';
import type { ReportResult } from './run.ts';

export type ReportFormat = 'table' | 'csv' | 'json';
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'csv', 'json'];

export function formatReport(result: ReportResult, format: ReportFormat): string {
  switch (format) {
    case 'table':
      return formatTable(result);
    case 'csv':
      return formatCsv(result);
    case 'json':
      return formatJson(result);
  }
}

/** Numbers right-aligned, text left-aligned, a freshness line under the table. */
export function formatTable(result: ReportResult): string {
  const header = result.columns.map((c) => c.name);
  const cells = result.rows.map((row) => row.map(cellText));
  const numeric = result.columns.map((_c, i) => result.rows.length > 0 && result.rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (row: readonly string[]) => row.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  lines.push(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'}; ${freshnessText(result.freshnessSeconds)})`);
  return lines.join('\n') + '\n';
}

export function formatCsv(result: ReportResult): string {
  return csvLine(result.columns.map((c) => c.name)) + result.rows.map(csvLine).join('');
}

/** One CSV record ending in CRLF (RFC 4180): a field quoted only when it holds a quote, comma or line break; null is empty. */
export function csvLine(values: readonly QueryValue[]): string {
  return values.map((v) => csvField(v === null ? '' : cellText(v))).join(',') + '\r\n';
}

/** One JSON document: the report, its freshness, and rows as objects keyed by column name. */
export function formatJson(result: ReportResult): string {
  return JSON.stringify({ report: result.report, freshnessSeconds: result.freshnessSeconds, columns: result.columns, rows: rowObjects(result) }, null, 2) + '\n';
}

/** The rows of a result (a report's or a warehouse query's) as objects keyed by column name. */
export function rowObjects(result: { readonly columns: readonly { readonly name: string }[]; readonly rows: readonly (readonly QueryValue[])[] }): Record<string, QueryValue>[] {
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c.name, row[i] ?? null])));
}

function cellText(value: QueryValue): string {
  if (value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function freshnessText(seconds: number | null): string {
  if (seconds === null) return 'no data loaded yet';
  return `data fresh to ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s ago`;
}
