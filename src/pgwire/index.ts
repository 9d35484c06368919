/**
 * The warehouse over PostgreSQL's wire protocol, for BI tools (Metabase, Superset, Grafana) and `psql`: the one
 * public door. See docs/warehouse.md, "BI tools".
 */
export { startPgWireServer, type PgWireOptions, type PgWireServer } from './server.ts';
export { formatScramVerifier, isScramVerifier, scramVerifier } from './scram.ts';
