/** EXPLAIN: the physical plan as an indented tree per output stream, sources at the leaves. */
import type { PhysicalGraph, PhysicalNode } from './graph.ts';

export function explainGraph(graph: PhysicalGraph): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  const visit = (node: PhysicalNode, depth: number) => {
    const pad = '  '.repeat(depth);
    const shared = seen.has(node.id);
    lines.push(`${pad}${node.name}${node.detail ? ` [${node.detail}]` : ''}${shared ? ' (shared, shown above)' : ''}`);
    if (shared) return;
    seen.add(node.id);
    if (node.kind === 'operator') for (const input of node.inputs) visit(input, depth + 1);
  };
  for (const out of graph.outputs) {
    lines.push(`Output stream ${out.name} (${out.columns.map((c) => `${c.name} ${c.type}`).join(', ')})`);
    visit(out.sink, 1);
  }
  return lines.join('\n');
}
