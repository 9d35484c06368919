/** Statement nodes of both dialects (Flink-style DDL/DML and Kinesis Analytics streams and pumps). */
import type { SourcePos } from '../diagnostics.ts';
import type { Expr, TypeRef } from './expressions.ts';
import type { SelectQuery } from './query.ts';

export interface ColumnDef {
  readonly name: string;
  readonly type: TypeRef;
  readonly pos: SourcePos;
}

/** `WATERMARK FOR ts AS ts - INTERVAL '5' SECOND`. */
export interface WatermarkDef {
  readonly column: string;
  readonly expr: Expr;
  readonly pos: SourcePos;
}

export interface CreateTableStmt {
  readonly kind: 'createTable';
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly watermark: WatermarkDef | null;
  /** `PRIMARY KEY (a, b) NOT ENFORCED`: what identifies a version of a row (temporal joins). */
  readonly primaryKey: readonly string[];
  readonly options: Readonly<Record<string, string>>;
  readonly pos: SourcePos;
}

/** Kinesis Analytics `CREATE OR REPLACE STREAM "S" (cols)`: an in-application stream. */
export interface CreateStreamStmt {
  readonly kind: 'createStream';
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly pos: SourcePos;
}

export interface CreateViewStmt {
  readonly kind: 'createView';
  readonly name: string;
  readonly query: SelectQuery;
  readonly pos: SourcePos;
}

export interface InsertStmt {
  readonly kind: 'insert';
  readonly target: string;
  readonly columns: readonly string[] | null;
  readonly query: SelectQuery;
  readonly pos: SourcePos;
}

/** Kinesis Analytics `CREATE OR REPLACE PUMP "P" AS INSERT INTO ...`. */
export interface CreatePumpStmt {
  readonly kind: 'createPump';
  readonly name: string;
  readonly insert: InsertStmt;
  readonly pos: SourcePos;
}

/** A bare query; its rows go to the output stream `result`. */
export interface QueryStmt {
  readonly kind: 'query';
  readonly query: SelectQuery;
  readonly pos: SourcePos;
}

export interface ExplainStmt {
  readonly kind: 'explain';
  readonly statement: InsertStmt | CreatePumpStmt | QueryStmt;
  readonly pos: SourcePos;
}

export type Statement =
  | CreateTableStmt
  | CreateStreamStmt
  | CreateViewStmt
  | InsertStmt
  | CreatePumpStmt
  | QueryStmt
  | ExplainStmt;

export type StatementKind = Statement['kind'];

/** A whole SQL script: the statements in order, and the text (for error messages). */
export interface Script {
  readonly sql: string;
  readonly statements: readonly Statement[];
}

/**
 * The dialect whose meaning a script gets where the two differ: `flink` (Flink SQL) or `kinesis` (Kinesis
 * Data Analytics SQL).
 */
export type QueryDialect = 'flink' | 'kinesis';
