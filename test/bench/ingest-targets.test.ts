/**
 * bench:ingest's targets: the Kinesis API target is the SDK producer against Tollstream over the same producer
 * against an endpoint that stores nothing (issue 13's wording), and a phase that did not run is NOT RUN.
 */
import { describe, expect, it } from 'vitest';
import { ingestTargets, type PhaseResult } from '../../bench/ingest/report.ts';

const phase = (recordsPerSecond: number, extra: Partial<PhaseResult> = {}): PhaseResult => ({ recordsPerSecond, records: recordsPerSecond, seconds: 1, ...extra });
const kinesisTarget = (phases: Record<string, PhaseResult>) => ingestTargets(phases).find((t) => t.name === 'Kinesis API / SDK producer alone');

describe('the Kinesis API ingest target', () => {
  it('divides the SDK against Tollstream by the SDK against the null endpoint, not by kinesalite or the load generator', () => {
    const t = kinesisTarget({ tollstreamKinesis: phase(833), sdkAlone: phase(18_667), kinesalite: phase(40), tollstreamKinesisReplay: phase(15_500), replayAlone: phase(16_000) });
    expect(t).toMatchObject({ goal: '>= 0.9', measured: '0.045', pass: false });
  });

  it('passes at 0.9 of the SDK alone and misses just below', () => {
    expect(kinesisTarget({ tollstreamKinesis: phase(9_000), sdkAlone: phase(10_000) })?.pass).toBe(true);
    expect(kinesisTarget({ tollstreamKinesis: phase(8_990), sdkAlone: phase(10_000) })?.pass).toBe(false);
  });

  it('misses when the Kinesis phase had failed records, whatever its rate', () => {
    expect(kinesisTarget({ tollstreamKinesis: phase(9_500, { failedRecords: 3 }), sdkAlone: phase(10_000) })?.pass).toBe(false);
  });

  it('is NOT RUN when the SDK reference phase was skipped, and no kinesalite row remains', () => {
    const targets = ingestTargets({ tollstreamKinesis: phase(9_500), kinesalite: phase(400) });
    expect(targets.find((t) => t.name === 'Kinesis API / SDK producer alone')).toMatchObject({ measured: 'n/a', pass: undefined });
    expect(targets.map((t) => t.name)).not.toContain('Kinesis API / kinesalite');
  });
});
