/**
 * The dead letters on the "Functions & delivery" page: notifications given up after their last attempt, and
 * batches that function mappings gave up on (their on-failure destinations), each sent again on request after
 * a confirmation (`GET /v1/dead-letters`, `POST …/redrive`).
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

/** A time of the API as the console shows it. */
function utc(iso: string): string {
  return iso === '' ? '—' : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

/** Draws the dead letters into `box` every 10 s; returns what stops it. */
export function showDeadLetters(box: HTMLElement, ctx: ConsoleContext): () => void {
  const notifications = h('div', {});
  const batches = h('div', {});
  const status = h('p', { class: 'muted', role: 'status' });
  replace(box, status, h('h3', {}, 'Notifications'), notifications, h('h3', {}, 'Function batches given up on'), batches);
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

  const load = async () => {
    try {
      const { deadLetters, functionDeadLetters = [] } = await ctx.json<{ deadLetters: DeadLetterRow[]; functionDeadLetters?: FunctionDeadLetterRow[] }>('/v1/dead-letters?limit=200');
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
    } catch (err) {
      replace(notifications, h('p', { class: 'error' }, `Could not list the dead letters: ${describeError(err)}`));
      replace(batches);
    }
  };
  return every(10_000, load);
}

/** Long text cut to its column's width, whole on hover: a long message or URL pushed "Send again" out of view. */
function clipped(text: string): HTMLElement {
  return h('span', { class: 'clipped', title: text }, text);
}
