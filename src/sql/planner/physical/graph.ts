/** The physical plan: a DAG of sources, operators and stream sinks, ready to instantiate. */
import type { Field } from '../../expr/scope.ts';
import type { Row } from '../../expr/types.ts';
import type { Operator } from '../../runtime/operator.ts';
import type { SourceDef } from '../logical/nodes.ts';

export interface RuntimeHooks {
  /** Rows reaching an output stream, in its column order (hidden ROWTIME last). */
  deliver(stream: string, rows: readonly Row[]): void;
  /** The watermark reached an output stream's sink, after the rows delivered before it. */
  watermark?(stream: string, time: number): void;
}

interface NodeBase {
  readonly id: string;
  /** Operator name for EXPLAIN, e.g. TumblingWindowAggregate. */
  readonly name: string;
  /** Its settings, for EXPLAIN. */
  readonly detail: string;
  readonly fields: readonly Field[];
  /** The pump/INSERT this node works for (for the error stream); null when shared or a source. */
  readonly pumpName: string | null;
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly source: SourceDef;
}

export interface OperatorNode extends NodeBase {
  readonly kind: 'operator';
  readonly inputs: PhysicalNode[];
  readonly create: (hooks: RuntimeHooks, readers: number) => Operator;
}

export type PhysicalNode = SourceNode | OperatorNode;

export interface OutputStream {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: Field['type'] }[];
  readonly sink: OperatorNode;
}

export interface PhysicalGraph {
  /** Every node, inputs before the nodes that read them. */
  readonly nodes: readonly PhysicalNode[];
  readonly outputs: readonly OutputStream[];
}

/**
 * The ids of the nodes some source feeds. The others compute constant rows (VALUES) and never see a
 * checkpoint barrier: they report no state, and run from the start again after a restore.
 */
export function fedBySources(nodes: readonly PhysicalNode[]): Set<string> {
  const fed = new Set<string>();
  const visit = (n: PhysicalNode): boolean => {
    if (fed.has(n.id)) return true;
    const yes = n.kind === 'source' || n.inputs.map(visit).some(Boolean);
    if (yes) fed.add(n.id);
    return yes;
  };
  for (const n of nodes) visit(n);
  return fed;
}
