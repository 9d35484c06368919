/**
 * A query's ORDER BY on a stream sorts the query's output rows, but it may name a column through the table
 * of the FROM clause, as the Kinesis Analytics guide's anomaly examples do
 * (`ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND)` over `SELECT STREAM * FROM "TEMP_STREAM"`): such a
 * reference means the output column the select list passes on unchanged from that table.
 */
import type { ColumnExpr, Expr, OrderItem, SqlTypeName } from '../../ast/index.ts';
import { exprKey, mapChildren } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import { Scope } from '../../expr/scope.ts';
import type { LogicalNode, ProjectNode } from './nodes.ts';

/**
 * `orderBy` with each key written as a select item (`ORDER BY SUM(amount)` for the item `SUM(amount)`, as the
 * reference's ORDER BY page sorts a GROUP BY) and each table-qualified column replaced by the output column
 * that passes it on.
 */
export function orderByOutputColumns(orderBy: readonly OrderItem[], node: LogicalNode): OrderItem[] {
  return orderBy.map((o) => ({ ...o, expr: selectItem(o.expr, node) ?? unqualify(o.expr, node) }));
}

/** The output column whose select item is written as `e`, if one is (a bare column is left to name lookup). */
function selectItem(e: Expr, node: LogicalNode): ColumnExpr | null {
  if (node.kind !== 'project' || e.kind === 'column') return null;
  const key = exprKey(e);
  const at = node.exprs.findIndex((x) => exprKey(x) === key);
  if (at < 0) return null;
  return { kind: 'column', qualifier: null, name: node.fields[at]!.name, quoted: true, pos: e.pos };
}

function unqualify(e: Expr, node: LogicalNode): Expr {
  if (e.kind !== 'column') return mapChildren(e, (c) => unqualify(c, node));
  if (e.qualifier === null || node.kind !== 'project') return e;
  // A name the output has under this qualifier (a row-valued item's r.COLUMN1) stays as it is.
  if (node.fields.some((f) => f.rowOf?.toLowerCase() === e.qualifier!.toLowerCase())) return e;
  const inputs = new Scope(node.input.fields);
  const wanted = inputs.resolve(e.qualifier, e.name, e.pos);
  const at = node.exprs.findIndex((x) => x.kind === 'column' && resolvesTo(inputs, x, wanted));
  if (at < 0) {
    throw planProblem(e.pos, `ORDER BY on a stream orders by the query's output columns, and ${e.qualifier}.${e.name} is not one`, `Select ${e.qualifier}.${e.name} too.`);
  }
  const out = node.fields[at]!;
  const ref: ColumnExpr = { kind: 'column', qualifier: null, name: out.name, quoted: true, pos: e.pos };
  return ref;
}

function resolvesTo(scope: Scope, e: ColumnExpr, index: number): boolean {
  try {
    return scope.resolve(e.qualifier, e.name, e.pos) === index;
  } catch {
    return false;
  }
}

/**
 * An ORDER BY key the select list leaves out (Kinesis Analytics allows it): the projection computes it too,
 * as a hidden column (left out of `*` and of the rows written), and the key reads that column. Null when
 * the key cannot be computed from the projection's input either (`typeOf` throws then).
 */
export function hiddenOrderKey(node: ProjectNode, o: OrderItem, index: number, typeOf: (e: Expr) => SqlTypeName): { node: ProjectNode; item: OrderItem } | null {
  let type: SqlTypeName;
  try {
    type = typeOf(o.expr);
  } catch {
    return null;
  }
  const name = `EXPR$order${index}`;
  const ref: ColumnExpr = { kind: 'column', qualifier: null, name, quoted: true, pos: o.expr.pos };
  return {
    node: { ...node, exprs: [...node.exprs, o.expr], fields: [...node.fields, { name, type, qualifier: null, hidden: true }] },
    item: { ...o, expr: ref },
  };
}
