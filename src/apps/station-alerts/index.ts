/**
 * Station traffic alerts for operators: the one public door. A continuous query counts vehicles per toll
 * station per event-time window and judges each count against the station reference data (followed live
 * from the `station_reference` stream); an evaluator flags windows without any vehicle; every alert goes
 * through one function that publishes it once per station and window. See docs/station-alerts.md.
 */
export { startStationAlerts, type StationAlerts, type StationAlertsConfig, type StationAlertsDeps, type StationAlertsStats } from './pipeline.ts';
export { appendStationReference, ensureReferenceStream, readReferenceFile, type ReferenceKey, type ReferenceRow } from './reference-stream.ts';
export { createOperatorApi, type OperatorApiOptions } from './http.ts';
export { renderStationQuery, QUERY_NAME, type QueryParameters } from './query.ts';
export { STREAMS, TOPIC, TABLES, alertKey, slotOf, type StationAlert, type WindowRecord } from './model.ts';
export { stationAlertsApp } from './app.ts';
export {
  STATION_ALERTS_SECTION,
  STATION_ALERTS_DEFAULTS,
  STATION_REFERENCE_SECTION,
  stationAlertsSettings,
  stationAlertsConfig,
  stationReferenceFile,
  type StationAlertsSettings,
  type StationReferenceSettings,
} from './settings.ts';
export { STATION_REFERENCE, STATION_REFERENCE_NAME, stationReference } from './reference-table.ts';
export { STATION_REPORTS } from './reports.ts';
