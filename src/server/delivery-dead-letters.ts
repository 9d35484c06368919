/**
 * The warehouse's failed delivery records (`_delivery_errors`) as dead letters: listed beside the others in
 * `GET /v1/dead-letters` (`deliveryErrors`), and sent again one at a time or as a selection through the same
 * conversion as delivery (`redriveDeliveryError` of the delivery component), each loaded once.
 */
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { redriveDeliveryError, type DeliveryRedriveResult } from '../delivery/index.ts';
import { invalidField, isObject, onlyFields, type Request } from '../gateway/index.ts';
import { readJsonObject } from '../gateway/index.ts';
import type { DeliveryErrorKey, StoredDeliveryError, Warehouse } from '../warehouse/index.ts';

/** Most records one selection may send again. */
export const MAX_REDRIVE_SELECTION = 100;
const MAX_BODY_BYTES = 256 * 1024;
/** A record's bytes shown in the list: enough to recognise it. */
const PREVIEW_CHARS = 2000;

const decoder = new TextDecoder('utf-8');

/** How the list shows a failed record. */
export function listedDeliveryError(e: StoredDeliveryError) {
  const text = decoder.decode(e.rawData);
  return {
    stream: e.stream,
    table: e.table,
    shardId: e.shardId,
    sequenceNumber: e.sequenceNumber,
    errorType: e.errorType,
    errorCode: e.errorCode,
    errorMessage: e.errorMessage,
    arrivalTime: new Date(e.arrivalTime).toISOString(),
    failedAt: new Date(e.failedAt).toISOString(),
    // The bytes as text (replacement characters where they are not UTF-8), cut to a preview; the base64 is whole.
    data: text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text,
    dataBase64: Buffer.from(e.rawData).toString('base64'),
  };
}

/** The warehouse, or NOT_FOUND when the server runs without one. */
export function requireWarehouse(warehouse: Warehouse | undefined): Warehouse {
  if (!warehouse) throw new TollstreamError('NOT_FOUND', 'this server runs without a warehouse (warehouse.enabled is false), so there are no failed delivery records', {});
  return warehouse;
}

/** Sends one record again; a record that fails again is REDRIVE_FAILED (it stays listed, with its new error). */
export async function redriveOne(warehouse: Warehouse, key: DeliveryErrorKey): Promise<DeliveryRedriveResult> {
  const result = await redriveDeliveryError(warehouse, key);
  const again = result.failedAgain[0];
  if (again) {
    throw new TollstreamError('REDRIVE_FAILED', `the record failed again (${again.errorType}, ${again.errorCode}): ${again.errorMessage}; it stays listed with this error`, {
      context: { ...key, errorType: again.errorType, errorCode: again.errorCode },
    });
  }
  return result;
}

/** What one record of a selection came to: sent (loaded, dropped or failed again) or refused, with the code. */
export type SelectionOutcome = DeliveryRedriveResult | { readonly key: DeliveryErrorKey; readonly error: { readonly code: string; readonly message: string } };

/** Sends each record of the body's selection again, one transaction each; one refused does not stop the others. */
export async function redriveSelection(warehouse: Warehouse, req: Request): Promise<SelectionOutcome[]> {
  const body = onlyFields(await readJsonObject(req, MAX_BODY_BYTES), ['records']);
  const records = body.records;
  if (!Array.isArray(records) || records.length === 0 || records.length > MAX_REDRIVE_SELECTION) {
    throw invalidField('records', `records must be an array of 1 to ${MAX_REDRIVE_SELECTION} failed records ({ stream, table, shardId, sequenceNumber })`);
  }
  const keys = records.map((r, i) => selectionKey(r, i));
  const outcomes: SelectionOutcome[] = [];
  for (const key of keys) {
    try {
      outcomes.push(await redriveDeliveryError(warehouse, key));
    } catch (err) {
      // Unavailable is the warehouse's, not the record's: the caller retries the whole selection.
      if (!isTollstreamError(err) || err.retriable) throw err;
      outcomes.push({ key, error: { code: err.code, message: err.message } });
    }
  }
  return outcomes;
}

function selectionKey(value: unknown, i: number): DeliveryErrorKey {
  const field = `records[${i}]`;
  if (!isObject(value)) throw invalidField(field, `${field} must be an object { stream, table, shardId, sequenceNumber }`);
  onlyFields(value, ['stream', 'table', 'shardId', 'sequenceNumber'], `${field}.`);
  const text = (name: string) => {
    const v = value[name];
    if (typeof v !== 'string' || v === '') throw invalidField(`${field}.${name}`, `${field}.${name} must be a non-empty string`);
    return v;
  };
  return { stream: text('stream'), table: text('table'), shardId: text('shardId'), sequenceNumber: text('sequenceNumber') };
}
