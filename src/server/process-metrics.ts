/**
 * The process's own resources on /metrics, under the names every Prometheus client library uses (CPU time,
 * start time, open file descriptors, memory), so the usual dashboards and alerts work unchanged; plus the
 * Node.js heap, so an operator (and the benchmarks) can tell the JavaScript heap from native memory (SQLite,
 * DuckDB, buffers) when RSS grows. The /proc readings exist on Linux only; elsewhere those series are absent.
 */
import fs from 'node:fs';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../metrics/index.ts';

export function registerProcessMetrics(registry: Registry, logger: Logger): void {
  const lostLines = registry.counter('tollstream_log_lines_lost_total', 'Log lines dropped because they could not be written (stderr on a full disk, a closed pipe).');
  const cpuUser = registry.counter('process_cpu_user_seconds_total', 'User CPU time spent, in seconds.');
  const cpuSystem = registry.counter('process_cpu_system_seconds_total', 'System CPU time spent, in seconds.');
  const cpu = registry.counter('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.');
  registry
    .gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.')
    .labels()
    .set(Math.round(performance.timeOrigin) / 1000);
  const openFds = registry.gauge('process_open_fds', 'Open file descriptors.');
  const maxFds = registry.gauge('process_max_fds', 'Maximum number of open file descriptors (the soft limit).');
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.').labels();
  const virtual = registry.gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.');
  const heapUsed = registry.gauge('nodejs_heap_size_used_bytes', 'JavaScript heap in use, in bytes.').labels();
  const heapTotal = registry.gauge('nodejs_heap_size_total_bytes', 'JavaScript heap reserved, in bytes.').labels();
  const external = registry.gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects (buffers included), in bytes.').labels();
  const arrayBuffers = registry.gauge('nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers, in bytes.').labels();
  const [major, minor, patch] = process.versions.node.split('.');
  registry
    .gauge('nodejs_version_info', 'Node.js version of the process (always 1).', ['version', 'major', 'minor', 'patch'])
    .labels(process.version, major ?? '', minor ?? '', patch ?? '')
    .set(1);
  registry.onCollect(() => {
    const m = process.memoryUsage();
    rss.set(m.rss);
    heapUsed.set(m.heapUsed);
    heapTotal.set(m.heapTotal);
    external.set(m.external);
    arrayBuffers.set(m.arrayBuffers);
    const usage = process.cpuUsage();
    for (const family of [lostLines, cpuUser, cpuSystem, cpu, openFds, maxFds, virtual]) family.reset();
    lostLines.labels().inc(logger.lostLines());
    cpuUser.labels().inc(usage.user / 1e6);
    cpuSystem.labels().inc(usage.system / 1e6);
    cpu.labels().inc((usage.user + usage.system) / 1e6);
    const fds = openFileDescriptors();
    if (fds !== undefined) openFds.labels().set(fds);
    const limit = fileDescriptorLimit();
    if (limit !== undefined) maxFds.labels().set(limit);
    const vsize = virtualMemoryBytes();
    if (vsize !== undefined) virtual.labels().set(vsize);
  });
}

function openFileDescriptors(): number | undefined {
  try {
    // Reading the directory opens one descriptor of its own, which the listing includes.
    return fs.readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

function fileDescriptorLimit(): number | undefined {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

function virtualMemoryBytes(): number | undefined {
  try {
    const kb = /^VmSize:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
