/**
 * The dead letters on the "Functions & delivery" page: notifications given up after their last attempt,
 * batches that function mappings gave up on (their on-failure destinations) and records the warehouse could not
 * load (`_delivery_errors`), each sent again on request after a confirmation (`GET /v1/dead-letters`,
 * `POST …/redrive`); and the continuous queries' error streams, read in the live tail (never sent again: see
 * docs/queries.md, "Error streams are not sent again").
 */
import { dataTable, h, replace } from '../../ui/dom.ts';
import { describeError, every, type ConsoleContext } from '../context.ts';

interface DeadLetterRow {
  readonly store: string;
  readonly id: number;
  readonly topic: string;
  readonly channel: string;
  readonly url: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly failedAt: string;
  readonly message: unknown;
}

interface FunctionDeadLetterRow {
  readonly mapping: string;
  readonly stream: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly batchSize: number;
  readonly condition: string;
  readonly attempts: number;
  readonly givenUpAt: string;
  readonly onFailure: string;
}

interface DeliveryErrorRow {
  readonly stream: string;
  readonly table: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly errorType: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly failedAt: string;
  readonly data: string;
}

/** A time of the API as the console shows it. */
function utc(iso: string): string {
  return iso === '' ? '—' : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

/** Draws the dead letters into `box` every 10 s; returns what stops it. */
export function showDeadLetters(box: HTMLElement, ctx: ConsoleContext): () => void {
  const notifications = h('div', {});
  const batches = h('div', {});
  const records = h('div', {});
  const queryErrors = h('div', {});
  const status = h('p', { class: 'muted', role: 'status' });
  replace(
    box,
    status,
    h('h3', {}, 'Notifications'),
    notifications,
    h('h3', {}, 'Function batches given up on'),
    batches,
    h('h3', {}, 'Records the warehouse could not load'),
    records,
    h('h3', {}, 'Query error streams'),
    queryErrors,
  );
  status.textContent = 'Reading dead letters…';

  /** A "Send again" button: asks first, then posts to `path` and reloads the lists. */
  const sendAgain = (label: string, question: string, path: string, done: (answer: unknown) => string) => {
    const button = h('button', { type: 'button', class: 'secondary', 'aria-label': label }, 'Send again');
    button.addEventListener('click', async () => {
      if (!window.confirm(question)) return;
      button.disabled = true;
      try {
        const answer = await ctx.json(path, { method: 'POST' });
        status.textContent = done(answer);
        await load();
      } catch (err) {
        button.disabled = false;
        replace(status, h('span', { class: 'error', role: 'alert' }, `Sending again failed: ${describeError(err)}`));
      }
    });
    return button;
  };

  /** The records ticked for "Send the selected again", by `recordId`; kept across the list's reloads. */
  const selected = new Map<string, { stream: string; table: string; shardId: string; sequenceNumber: string }>();
  const sendSelected = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Send the selected again');
  const showSelection = () => {
    sendSelected.disabled = selected.size === 0;
    sendSelected.textContent = selected.size === 0 ? 'Send the selected again' : `Send the ${selected.size} selected again`;
  };
  sendSelected.addEventListener('click', async () => {
    const chosen = [...selected.values()];
    if (chosen.length === 0) return;
    if (!window.confirm(`Load the ${chosen.length} selected record${chosen.length === 1 ? '' : 's'} into their tables again? Each goes through the delivery's conversion once more and is loaded once; one that fails again stays listed with the new error.`)) return;
    sendSelected.disabled = true;
    try {
      const { results } = await ctx.json<{ results: Array<{ loaded?: number; failedAgain?: unknown[]; error?: { code: string; message: string } }> }>('/v1/dead-letters/deliveries/redrive', { method: 'POST', body: { records: chosen } });
      selected.clear();
      const loaded = results.reduce((n, r) => n + (r.loaded ?? 0), 0);
      const failedAgain = results.filter((r) => (r.failedAgain?.length ?? 0) > 0).length;
      const refused = results.filter((r) => r.error !== undefined);
      status.textContent = `${loaded} row${loaded === 1 ? '' : 's'} loaded from ${results.length} record${results.length === 1 ? '' : 's'}` +
        (failedAgain > 0 ? `; ${failedAgain} failed again and ${failedAgain === 1 ? 'stays' : 'stay'} listed` : '') +
        (refused.length > 0 ? `; ${refused.length} refused: ${refused.map((r) => r.error!.message).join('; ')}` : '') + '.';
      await load();
    } catch (err) {
      showSelection();
      replace(status, h('span', { class: 'error', role: 'alert' }, `Sending again failed: ${describeError(err)}`));
    }
  });

  const load = async () => {
    try {
      const { deadLetters, functionDeadLetters = [], deliveryErrors = [] } = await ctx.json<{ deadLetters: DeadLetterRow[]; functionDeadLetters?: FunctionDeadLetterRow[]; deliveryErrors?: DeliveryErrorRow[] }>(
        '/v1/dead-letters?limit=200',
      );
      if (status.textContent === 'Reading dead letters…') status.textContent = '';
      replace(
        notifications,
        deadLetters.length === 0
          ? h('p', { class: 'muted' }, 'None: every notification reached its webhook, browser or mailbox.')
          : dataTable(
              ['', 'Store', 'Topic', 'Channel', 'To', 'Attempts', 'Last error', 'Given up', 'Message'],
              deadLetters.map((d) => [
                // The action first, where a wide row cannot push it out of view.
                sendAgain(`Send dead letter ${d.id} of ${d.store} again`, `Send this ${d.topic} notification to ${d.url} again? It gets a fresh set of attempts.`, `/v1/dead-letters/${encodeURIComponent(d.store)}/${d.id}/redrive`, () => `Notification ${d.id} of ${d.store} queued again.`),
                d.store, d.topic, d.channel, clipped(d.url), d.attempts, d.lastError, utc(d.failedAt), clipped(JSON.stringify(d.message)),
              ]),
              `${deadLetters.length} notification${deadLetters.length === 1 ? '' : 's'} given up`,
            ),
      );
      replace(
        batches,
        functionDeadLetters.length === 0
          ? h('p', { class: 'muted' }, 'None: no function mapping with an on-failure destination has given up on a batch.')
          : dataTable(
              ['', 'Function', 'Stream', 'Shard', 'Sequence numbers', 'Records', 'Attempts', 'Why', 'Given up', 'Kept in'],
              functionDeadLetters.map((b) => {
                const range = `${b.startSequenceNumber}-${b.endSequenceNumber}`;
                return [
                  sendAgain(
                    `Send the batch of ${b.mapping} given up at ${utc(b.givenUpAt)} again`,
                    `Send these ${b.batchSize} records of ${b.stream} (${b.shardId}) to ${b.mapping} again? They are read again from the stream and the function runs once with them.`,
                    `/v1/dead-letters/mappings/${encodeURIComponent(b.mapping)}/${encodeURIComponent(b.shardId)}/${range}/redrive`,
                    (answer) => `${b.mapping} processed the ${(answer as { redriven: { records: number } }).redriven.records} records of the batch.`,
                  ),
                  b.mapping, b.stream, b.shardId, h('code', { title: range }, `…${b.startSequenceNumber.slice(-6)} to …${b.endSequenceNumber.slice(-6)}`), b.batchSize, b.attempts, b.condition, utc(b.givenUpAt), clipped(b.onFailure),
                ];
              }),
              `${functionDeadLetters.length} batch${functionDeadLetters.length === 1 ? '' : 'es'} given up`,
            ),
      );
      const listedNow = new Set(deliveryErrors.map(recordId));
      for (const id of selected.keys()) if (!listedNow.has(id)) selected.delete(id);
      replace(
        records,
        deliveryErrors.length === 0
          ? h('p', { class: 'muted' }, 'None: every record delivered was loaded into its table.')
          : h('div', {}, h('p', { class: 'row' }, sendSelected), dataTable(
              ['', '', 'Table', 'Stream', 'Shard', 'Sequence number', 'Error', 'Why', 'Failed', 'Record'],
              deliveryErrors.map((e) => {
                const where = `${encodeURIComponent(e.stream)}/${encodeURIComponent(e.table)}/${encodeURIComponent(e.shardId)}/${encodeURIComponent(e.sequenceNumber)}`;
                const id = recordId(e);
                const pick = h('input', { type: 'checkbox', 'aria-label': `Select record ${e.sequenceNumber} of ${e.shardId}`, checked: selected.has(id) });
                pick.addEventListener('change', () => {
                  if (pick.checked) selected.set(id, { stream: e.stream, table: e.table, shardId: e.shardId, sequenceNumber: e.sequenceNumber });
                  else selected.delete(id);
                  showSelection();
                });
                return [
                  pick,
                  sendAgain(
                    `Send record ${e.sequenceNumber} of ${e.shardId} to ${e.table} again`,
                    `Load this record of ${e.stream} (${e.shardId}, sequence number ${e.sequenceNumber}) into ${e.table} again? It goes through the delivery's conversion once more and is loaded once; if it fails again it stays listed with the new error.`,
                    `/v1/dead-letters/deliveries/${where}/redrive`,
                    (answer) => `Record ${e.sequenceNumber} of ${e.shardId}: ${(answer as { redriven: { loaded: number } }).redriven.loaded} row loaded into ${e.table}.`,
                  ),
                  e.table, e.stream, e.shardId, h('code', { title: e.sequenceNumber }, `…${e.sequenceNumber.slice(-6)}`), `${e.errorType} (${e.errorCode})`, clipped(e.errorMessage), utc(e.failedAt), clipped(e.data),
                ];
              }),
              `${deliveryErrors.length} record${deliveryErrors.length === 1 ? '' : 's'} not loaded`,
            )),
      );
      showSelection();
    } catch (err) {
      replace(notifications, h('p', { class: 'error' }, `Could not list the dead letters: ${describeError(err)}`));
      replace(batches);
      replace(records);
    }
    await loadQueryErrors();
  };

  /** Each continuous query's error stream, opened in the live tail from its oldest record. */
  const loadQueryErrors = async () => {
    try {
      const { queries } = await ctx.json<{ queries: Array<{ name: string; errorStream: string }> }>('/v1/queries');
      replace(
        queryErrors,
        h(
          'p',
          { class: 'muted' },
          'Rows a query could not use (late rows, unreadable records, failed expressions) go to its error stream. They are read here, not sent again: a late row sent again is late again, and a record appended again to its input reaches every other reader of that stream twice.',
        ),
        queries.length === 0
          ? h('p', { class: 'muted' }, 'No continuous queries.')
          : dataTable(
              ['Query', 'Error stream', ''],
              queries.map((q) => [q.name, h('code', {}, q.errorStream), h('a', { href: `#/tail/${encodeURIComponent(q.errorStream)}/TRIM_HORIZON`, 'aria-label': `Read the error stream of ${q.name}` }, 'Read in the tail')]),
              `${queries.length} error stream${queries.length === 1 ? '' : 's'}`,
            ),
      );
    } catch (err) {
      replace(queryErrors, h('p', { class: 'muted' }, `No continuous queries to list: ${describeError(err)}`));
    }
  };
  return every(10_000, load);
}

/** One failed delivery record, as the selection keys it. */
function recordId(e: Pick<DeliveryErrorRow, 'stream' | 'table' | 'shardId' | 'sequenceNumber'>): string {
  return JSON.stringify([e.stream, e.table, e.shardId, e.sequenceNumber]);
}

/** Long text cut to its column's width, whole on hover: a long message or URL pushed "Send again" out of view. */
function clipped(text: string): HTMLElement {
  return h('span', { class: 'clipped', title: text }, text);
}
