/**
 * Live tail of a stream over Server-Sent Events. EventSource cannot send an Authorization header, so the
 * stream is read with fetch and parsed with SseParser; stopping (or leaving the page) aborts the request,
 * which ends the server's subscriptions.
 */
import { readSse } from '../../lib/sse.ts';
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

export const tailPage: Page = (container, ctx) => {
  const stream = h('select', { id: 'tail-stream' });
  const from = h('select', { id: 'tail-from' }, h('option', { value: 'LATEST' }, 'New records (LATEST)'), h('option', { value: 'TRIM_HORIZON' }, 'From the oldest (TRIM_HORIZON)'));
  const toggle = h('button', { type: 'submit' }, 'Start');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  const status = h('p', { class: 'muted', role: 'status' }, 'Not tailing.');
  const list = h('ol', { class: 'tail', reversed: true, 'aria-label': 'Records, newest first' });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    h('div', { class: 'grid2' }, h('div', { class: 'field' }, h('label', { for: 'tail-stream' }, 'Stream'), stream), h('div', { class: 'field' }, h('label', { for: 'tail-from' }, 'Start at'), from)),
    h('div', { class: 'row' }, toggle, clear),
    status,
  );
  replace(container, form, list);

  let controller: AbortController | undefined;
  let count = 0;

  void ctx.json<{ streams: Array<{ name: string }> }>('/v1/streams').then(
    (answer) => {
      const names = answer.streams.map((s) => s.name).sort();
      replace(stream, ...names.map((n) => h('option', { value: n }, n)));
      if (names.length === 0) {
        status.textContent = 'There are no streams to tail.';
        toggle.disabled = true;
      }
    },
    (err: unknown) => (status.textContent = `Could not list the streams: ${describeError(err)}`),
  );

  const stop = (message: string) => {
    controller?.abort();
    controller = undefined;
    toggle.textContent = 'Start';
    stream.disabled = false;
    from.disabled = false;
    status.textContent = message;
  };

  const start = async () => {
    const name = stream.value;
    if (!name) return;
    controller = new AbortController();
    const signal = controller.signal;
    toggle.textContent = 'Stop';
    stream.disabled = true;
    from.disabled = true;
    status.textContent = `Connecting to ${name}…`;
    try {
      const res = await ctx.raw(`/v1/streams/${encodeURIComponent(name)}/tail?from=${from.value}`, { signal });
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
