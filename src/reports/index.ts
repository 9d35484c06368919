/**
 * Reports: the one public door. Named, parameterised SQL reports over the warehouse, their output formats,
 * and the loader of reference data (tables an app declares, replaced as a whole).
 */
export { listReports, runReport, reportCatalog, type ReportParams, type ReportResult, type ReportInfo } from './run.ts';
export { formatReport, formatTable, formatCsv, csvLine, formatJson, rowObjects, REPORT_FORMATS, type ReportFormat } from './format.ts';
export { loadReference, referenceRows, parseCsv, type ReferenceSource, type ReferenceTable, type ReferenceRow } from './reference.ts';
export type { ParameterName, ReportChart, ReportDefinition } from './catalog.ts';
