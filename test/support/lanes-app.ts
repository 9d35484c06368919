/**
 * An app that only declares reference data, as tests of the app contract need one: `lanes`, the lanes open per
 * plaza in the warehouse table `plaza_lanes` (a plaza has 1 lane or more). It does not run, which is enough: an
 * app's reference data is served whether or not it runs.
 */
import type { App, ReferenceTable } from '../../src/app-contract/index.ts';
import type { TableSchema } from '../../src/warehouse/index.ts';

export const PLAZA_LANES: TableSchema = {
  name: 'plaza_lanes',
  description: 'Lanes per plaza.',
  columns: [
    { name: 'plaza_id', type: 'varchar', description: 'Plaza.' },
    { name: 'lanes', type: 'integer', min: 1, description: 'Lanes open.' },
  ],
  primaryKey: ['plaza_id'],
};

/** The app, its reference `lanes` with what `reference` adds (a file loaded at start, a `replaced` hook). */
export function lanesApp(reference: Omit<ReferenceTable, 'name' | 'table'> = {}): App {
  return {
    name: 'lanes',
    enabled: () => false,
    referenceData: () => [{ name: 'lanes', table: PLAZA_LANES, ...reference }],
    prepare: () => ({ start: async () => undefined }),
  };
}
