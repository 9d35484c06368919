/**
 * The process's own memory on /metrics, under the usual Prometheus client names, so an operator (and the
 * benchmarks) can tell the JavaScript heap from native memory (SQLite, DuckDB, buffers) when RSS grows.
 */
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../metrics/index.ts';

export function registerProcessMetrics(registry: Registry, logger: Logger): void {
  const lostLines = registry.counter('tollstream_log_lines_lost_total', 'Log lines dropped because they could not be written (stderr on a full disk, a closed pipe).');
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.').labels();
  const heapUsed = registry.gauge('nodejs_heap_size_used_bytes', 'JavaScript heap in use, in bytes.').labels();
  const heapTotal = registry.gauge('nodejs_heap_size_total_bytes', 'JavaScript heap reserved, in bytes.').labels();
  const external = registry.gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects (buffers included), in bytes.').labels();
  const arrayBuffers = registry.gauge('nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers, in bytes.').labels();
  registry.onCollect(() => {
    const m = process.memoryUsage();
    rss.set(m.rss);
    heapUsed.set(m.heapUsed);
    heapTotal.set(m.heapTotal);
    external.set(m.external);
    arrayBuffers.set(m.arrayBuffers);
    lostLines.reset();
    lostLines.labels().inc(logger.lostLines());
  });
}
