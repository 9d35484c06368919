/**
 * The station reference data as the app declares it: the warehouse table `station_reference` (expected vehicles
 * and the alert threshold per plaza, UTC day of week and 30-minute slot), loaded through `PUT /v1/reference/stations`
 * and `reference.stationsFile`, and followed into the `station_reference` stream that the running alerts read.
 */
import type { ReferenceTable } from '../../app-contract/index.ts';
import type { TollstreamConfig } from '../../config/index.ts';
import type { StreamLog } from '../../log/index.ts';
import type { TableSchema } from '../../warehouse/index.ts';
import { appendStationReference } from './reference-stream.ts';
import { stationReferenceFile } from './settings.ts';

export const STATION_REFERENCE: TableSchema = {
  name: 'station_reference',
  description: 'Expected traffic per plaza, day of week and 30-minute slot, with the alert threshold.',
  columns: [
    { name: 'plaza_id', type: 'varchar', description: 'Toll plaza.' },
    { name: 'day_of_week', type: 'smallint', min: 0, max: 6, description: '0 Sunday ... 6 Saturday (UTC).' },
    { name: 'slot', type: 'smallint', min: 0, max: 47, description: '30-minute slot of the UTC day: 0 is 00:00-00:30.' },
    { name: 'expected_count', type: 'integer', min: 0, description: 'Vehicles expected in the slot.' },
    { name: 'alert_threshold', type: 'integer', min: 0, description: 'A slot with fewer vehicles than this is flagged.' },
  ],
  primaryKey: ['plaza_id', 'day_of_week', 'slot'],
};

/** The name of the reference in `PUT /v1/reference/{name}` and `tollstream reference load`. */
export const STATION_REFERENCE_NAME = 'stations';

/** The reference as the server serves it: the file of the config at start, and each load on to the stream. */
export function stationReference(config: TollstreamConfig, log: StreamLog): ReferenceTable {
  const file = stationReferenceFile(config);
  return {
    name: STATION_REFERENCE_NAME,
    table: STATION_REFERENCE,
    ...(file === undefined ? {} : { file }),
    // The stream gets what the warehouse now holds, and a deletion for each key the load left out.
    replaced: async (rows, previous) => void (await appendStationReference(log, rows, previous)),
  };
}
