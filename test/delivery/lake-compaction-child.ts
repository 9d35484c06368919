/**
 * A compaction process for the kill test: opens the lake in `<dir>`, prints `compacting`, merges its small files
 * and prints `compacted`, unless it is killed first.
 */
import { openParquetLake } from '../../src/delivery/index.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: lake-compaction-child.ts DIR');
const lake = await openParquetLake({ dir, schema: TOLL_TRANSACTIONS, targetFileMiB: 1, compactionIntervalSeconds: 0, compactionMinFiles: 2, compactionQuietSeconds: 0 });
process.stdout.write('compacting\n');
const result = await lake.compact();
process.stdout.write(`compacted ${result.filesReplaced} ${result.filesWritten}\n`);
await lake.close();
