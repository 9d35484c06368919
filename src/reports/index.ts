/**
 * Reports: the one public door. Named, parameterised SQL reports over the warehouse, their output formats,
 * and the loader of the station reference data.
 */
export { listReports, runReport, reportCatalog, type ReportParams, type ReportResult, type ReportInfo } from './run.ts';
export { formatReport, formatTable, formatCsv, csvLine, formatJson, REPORT_FORMATS, type ReportFormat } from './format.ts';
export { loadStationReference, parseCsv, type ReferenceSource } from './reference.ts';
export type { ParameterName, ReportDefinition } from './catalog.ts';
