/**
 * Live tail of a stream over Server-Sent Events. EventSource cannot send an Authorization header, so the
 * stream is read with fetch and parsed with SseParser; stopping (or leaving the page) aborts the request,
 * which ends the server's subscriptions.
 */
import { readSse } from '../../lib/sse.ts';
import { tailQueryString } from '../../lib/tail.ts';
import { h, replace } from '../../ui/dom.ts';
import { describeError, type Page } from '../context.ts';

const KEPT = 200;

interface TailRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly arrivalTime: number;
  readonly data: unknown;
  /** A user record of a KPL aggregate: its index in the aggregate. */
  readonly subSequenceNumber?: number;
  /** Set on a KPL aggregate that cannot be read: why (its bytes are in `data`, base64). */
  readonly error?: string;
}

/**
 * `#/tail/<stream>/<start>` opens the tail on that stream from that start (TRIM_HORIZON or LATEST) and starts it:
 * the dead-letter list links a query's error stream this way.
 */
export const tailPage: Page = (container, ctx, path) => {
  const stream = h('select', { id: 'tail-stream' });
  const from = h(
    'select',
    { id: 'tail-from' },
    h('option', { value: 'LATEST' }, 'New records (LATEST)'),
    h('option', { value: 'TRIM_HORIZON' }, 'From the oldest (TRIM_HORIZON)'),
    h('option', { value: 'AT_TIMESTAMP' }, 'From a time (AT_TIMESTAMP)'),
    h('option', { value: 'AT_SEQUENCE_NUMBER' }, 'From a sequence number of one shard'),
  );
  const at = h('input', { id: 'tail-at', type: 'datetime-local', step: 1 });
  const sequenceNumber = h('input', { id: 'tail-seq', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false' });
  const shard = h('select', { id: 'tail-shard' }, h('option', { value: '' }, 'All shards'));
  const key = h('input', { id: 'tail-key', autocomplete: 'off', spellcheck: 'false' });
  const field = h('input', { id: 'tail-field', autocomplete: 'off', spellcheck: 'false', placeholder: 'plaza_id' });
  const value = h('input', { id: 'tail-value', autocomplete: 'off', spellcheck: 'false', placeholder: 'P01' });
  const atField = h('div', { class: 'field', hidden: true }, h('label', { for: 'tail-at' }, 'Time (UTC)'), at);
  const seqField = h('div', { class: 'field', hidden: true }, h('label', { for: 'tail-seq' }, 'Sequence number'), sequenceNumber);
  const inputs = [stream, from, at, sequenceNumber, shard, key, field, value];
  const showStart = () => {
    atField.hidden = from.value !== 'AT_TIMESTAMP';
    seqField.hidden = from.value !== 'AT_SEQUENCE_NUMBER';
  };
  from.addEventListener('change', showStart);
  const toggle = h('button', { type: 'submit' }, 'Start');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  const status = h('p', { class: 'muted', role: 'status' }, 'Not tailing.');
  const list = h('ol', { class: 'tail', reversed: true, 'aria-label': 'Records, newest first' });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    h('div', { class: 'grid2' }, h('div', { class: 'field' }, h('label', { for: 'tail-stream' }, 'Stream'), stream), h('div', { class: 'field' }, h('label', { for: 'tail-from' }, 'Start at'), from)),
    h('div', { class: 'grid2' }, atField, seqField, h('div', { class: 'field' }, h('label', { for: 'tail-shard' }, 'Shard'), shard)),
    h(
      'div',
      { class: 'grid2' },
      h('div', { class: 'field' }, h('label', { for: 'tail-key' }, 'Only partition key'), key),
      h('div', { class: 'field' }, h('label', { for: 'tail-field' }, 'Only records whose field'), field, h('label', { for: 'tail-value' }, 'equals'), value),
    ),
    h('div', { class: 'row' }, toggle, clear),
    status,
  );
  replace(container, form, list);

  let controller: AbortController | undefined;
  let count = 0;

  // The shard picker follows the chosen stream (a per-shard view, and where a sequence number belongs).
  const loadShards = async () => {
    if (!stream.value) return;
    try {
      const d = await ctx.json<{ shards: Array<{ shardId: string; endingSequenceNumber?: string }> }>(`/v1/streams/${encodeURIComponent(stream.value)}`);
      replace(shard, h('option', { value: '' }, 'All shards'), ...d.shards.map((s) => h('option', { value: s.shardId }, s.endingSequenceNumber === undefined ? s.shardId : `${s.shardId} (closed)`)));
    } catch (err) {
      status.textContent = `Could not describe ${stream.value}: ${describeError(err)}`;
    }
  };
  stream.addEventListener('change', () => void loadShards());

  void ctx.json<{ streams: Array<{ name: string }> }>('/v1/streams').then(
    (answer) => {
      const names = answer.streams.map((s) => s.name).sort();
      replace(stream, ...names.map((n) => h('option', { value: n }, n)));
      if (names.length === 0) {
        status.textContent = 'There are no streams to tail.';
        toggle.disabled = true;
        return;
      }
      const [linked, linkedFrom] = path;
      if (linked !== undefined && names.includes(linked)) {
        stream.value = linked;
        if (linkedFrom === 'TRIM_HORIZON' || linkedFrom === 'LATEST') from.value = linkedFrom;
        void loadShards();
        void start();
      } else void loadShards();
    },
    (err: unknown) => (status.textContent = `Could not list the streams: ${describeError(err)}`),
  );

  const stop = (message: string) => {
    controller?.abort();
    controller = undefined;
    toggle.textContent = 'Start';
    for (const input of inputs) input.disabled = false;
    status.textContent = message;
  };

  const start = async () => {
    const name = stream.value;
    if (!name) return;
    controller = new AbortController();
    const signal = controller.signal;
    toggle.textContent = 'Stop';
    for (const input of inputs) input.disabled = true;
    status.textContent = `Connecting to ${name}…`;
    try {
      const query = tailQueryString({ from: from.value, at: at.value, sequenceNumber: sequenceNumber.value, shard: shard.value, key: key.value, field: field.value, value: value.value });
      const res = await ctx.raw(`/v1/streams/${encodeURIComponent(name)}/tail?${query}`, { signal });
      status.textContent = `Tailing ${name}: ${count} records so far.`;
      await readSse(
        res.body!,
        (event) => {
          if (event.event === 'error') {
            stop(`The tail ended: ${event.data}`);
            return;
          }
          if (event.event !== 'record') return;
          let record: TailRecord;
          try {
            record = JSON.parse(event.data) as TailRecord;
          } catch {
            return;
          }
          count++;
          list.prepend(
            h(
              'li',
              {},
              h(
                'p',
                { class: 'tail-meta' },
                `${record.shardId} · ${new Date(record.arrivalTime).toISOString()} · key ${record.partitionKey}` +
                  (record.subSequenceNumber === undefined ? '' : ` · KPL user record ${record.subSequenceNumber}`) +
                  (record.error === undefined ? '' : ` · ${record.error}`),
              ),
              h('pre', {}, JSON.stringify(record.data)),
            ),
          );
          while (list.children.length > KEPT) list.lastElementChild?.remove();
          status.textContent = `Tailing ${name}: ${count} records so far (the newest ${KEPT} are shown).`;
        },
        signal,
      );
      if (!signal.aborted) stop(`The server ended the tail of ${name} after ${count} records.`);
    } catch (err) {
      if (!signal.aborted) stop(`The tail failed: ${describeError(err)}`);
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (controller) stop(`Stopped after ${count} records.`);
    else void start();
  });
  clear.addEventListener('click', () => {
    list.replaceChildren();
    count = 0;
  });
  return () => controller?.abort();
};
