/**
 * The ABC Tolls spending alerts: the one public door. Toll transactions are summed per customer and month,
 * and a customer whose month passes their threshold gets exactly one inbox notification per threshold.
 */
export { validateTransaction, isCustomerId, MAX_ID_LENGTH, MAX_CUSTOMER_ID_LENGTH, type TollTransaction, type ValidationResult } from './schema.ts';
export { createCalendar, isDayKey, isMonthKey, type Calendar } from './calendar.ts';
export { SpendLedger, breachKey, DEFAULT_TOPIC, type ApplyResult, type BreachMessage, type LedgerOptions, type SpendSource } from './ledger.ts';
export {
  Customers,
  type Customer,
  type CustomerInput,
  type CustomersOptions,
  type IssuedToken,
  type ThresholdChange,
  type TokenInfo,
} from './customers.ts';
export { transactionsHandler, windowsHandler, validateWindow, type SpendHandlerOptions, type SpendPathStats, type WindowSpend } from './spend-function.ts';
export {
  startSpendAlerts,
  resolveSpendAlertsConfig,
  type ResolvedSpendAlertsConfig,
  type SpendAlerts,
  type SpendAlertsConfig,
  type SpendAlertsDeps,
  type SpendSourceKind,
} from './pipeline.ts';
export { validationHandler, type ValidationHandlerOptions } from './validate-function.ts';
export { customerSpendSql, ensureSpendQuery, SPEND_QUERY_INPUT, SPEND_QUERY_OUTPUT, type SpendQueries, type SpendQueryOptions } from './spend-query.ts';
export { WindowCloser, type WindowCloserOptions } from './window-closer.ts';
export { SpendReader, type DaySpend, type MonthToDate, type SpendReaderOptions } from './spend.ts';
export { TABLES, ensureStoreTables } from './tables.ts';
export { spendAlertsApp } from './app.ts';
export { SPEND_ALERT_REPORTS } from './reports.ts';
export { BREACHES_STREAM, BREACH_ID_FIELD, THRESHOLD_BREACHES } from './breaches.ts';
export { SPEND_ALERTS_DEFAULTS, SPEND_ALERTS_SECTION, spendAlertsConfig, spendAlertsSettings, type EmailSettings, type SpendAlertsSettings } from './settings.ts';
