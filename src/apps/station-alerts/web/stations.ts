/**
 * Station alerts: toll stations whose traffic fell below what is normal for that station and time of the
 * week, live from /v1/operator/alerts/stream (read with fetch, so it carries the API key), and the webhooks
 * subscribed to the `station-alerts` topic, which operators add and remove here.
 */
import { ApiError } from '../../../../web/src/lib/api.ts';
import { readSse } from '../../../../web/src/lib/sse.ts';
import { dataTable, h, replace } from '../../../../web/src/ui/dom.ts';
import { describeError, type Page } from '../../../../web/src/console/context.ts';

interface StationAlert {
  readonly plaza_id: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly vehicle_count: number;
  readonly expected_count: number;
  readonly alert_threshold: number;
  readonly reference: string;
  readonly cause: string;
  readonly acknowledged_at?: string;
  readonly acknowledged_by?: string;
}

interface Subscription {
  readonly id: number;
  readonly url: string;
  readonly createdAt: string;
}

const KEPT = 500;
const RECONNECT_MS = 3000;

export const stationsPage: Page = (container, ctx) => {
  const status = h('p', { class: 'muted', role: 'status' }, 'Connecting to the alert stream…');
  const alertsBox = h('div', {}, h('p', { class: 'muted' }, 'No alert yet.'));
  const hooksBox = h('div', {});
  const url = h('input', { id: 'hook-url', type: 'url', placeholder: 'https://ops.example.com/hooks/tolls', autocomplete: 'off', spellcheck: 'false' });
  const secret = h('input', { id: 'hook-secret', type: 'password', autocomplete: 'new-password', spellcheck: 'false', 'aria-describedby': 'hook-secret-hint' });
  const add = h('button', { type: 'submit' }, 'Subscribe');
  const formError = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    h('div', { class: 'grid2' }, h('div', { class: 'field' }, h('label', { for: 'hook-url' }, 'Webhook URL'), url), h('div', { class: 'field' }, h('label', { for: 'hook-secret' }, 'Signing secret'), secret)),
    h('p', { id: 'hook-secret-hint', class: 'hint' }, 'At least 16 characters. Each delivery is signed with it (Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature).'),
    formError,
    add,
  );
  replace(
    container,
    h('section', { 'aria-labelledby': 'station-alerts-h' }, h('h2', { id: 'station-alerts-h' }, 'Alerts, newest first'), status, alertsBox),
    h('section', { 'aria-labelledby': 'station-hooks-h' }, h('h2', { id: 'station-hooks-h' }, 'Webhooks'), hooksBox, form),
  );

  const alerts: StationAlert[] = [];
  // Acknowledgements live with the listed alerts (GET /v1/operator/alerts), not in the stream: merged by key.
  const acks = new Map<string, { at: string; by: string }>();
  const keyOf = (a: Pick<StationAlert, 'plaza_id' | 'window_start'>) => `${a.plaza_id}@${a.window_start}`;
  const render = () => {
    if (alerts.length === 0) return;
    const rows = alerts.map((a) => {
      const ack = acks.get(keyOf(a));
      let cell: HTMLElement;
      if (ack) cell = h('span', { 'data-testid': 'acknowledged' }, `acknowledged by ${ack.by}, ${ack.at.slice(0, 16).replace('T', ' ')} UTC`);
      else {
        cell = h('button', { type: 'button', class: 'secondary', 'aria-label': `Acknowledge the alert of ${a.plaza_id} at ${a.window_start.slice(0, 16).replace('T', ' ')}` }, 'Acknowledge');
        cell.addEventListener('click', () => void acknowledge(a, cell as HTMLButtonElement));
      }
      return [a.plaza_id, `${a.window_start.slice(0, 16).replace('T', ' ')} to ${a.window_end.slice(11, 16)} UTC`, a.vehicle_count, a.expected_count, a.alert_threshold, a.cause === 'no_traffic' ? 'no traffic at all' : 'below threshold', a.reference === 'default' ? 'defaults' : 'station', cell];
    });
    replace(alertsBox, dataTable(['Station', 'Window', 'Vehicles', 'Expected', 'Threshold', 'Why', 'Reference', 'Status'], rows, `${alerts.length} alert${alerts.length === 1 ? '' : 's'}, ${alerts.filter((a) => !acks.has(keyOf(a))).length} not acknowledged`));
  };
  const acknowledge = async (a: StationAlert, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      const answer = await ctx.json<{ alert: StationAlert }>('/v1/operator/alerts/acknowledge', { method: 'POST', body: { plaza_id: a.plaza_id, window_start: a.window_start } });
      acks.set(keyOf(a), { at: answer.alert.acknowledged_at ?? '', by: answer.alert.acknowledged_by ?? 'operator' });
      render();
    } catch (err) {
      button.disabled = false;
      status.textContent = `Acknowledging failed: ${describeError(err)}`;
    }
  };
  const loadAcks = async () => {
    try {
      const { alerts: listed } = await ctx.json<{ alerts: StationAlert[] }>('/v1/operator/alerts?limit=1000');
      for (const a of listed) if (a.acknowledged_at !== undefined) acks.set(keyOf(a), { at: a.acknowledged_at, by: a.acknowledged_by ?? 'operator' });
      render();
    } catch {
      // The alerts still show; their acknowledgements come with the next poll.
    }
  };
  void loadAcks();
  const ackTimer = setInterval(() => void loadAcks(), 10_000);

  const controller = new AbortController();
  const signal = controller.signal;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const follow = async () => {
    try {
      const res = await ctx.raw('/v1/operator/alerts/stream', { signal });
      status.textContent = 'Live: new alerts appear as they are raised.';
      // Every reconnect replays the retained alerts, so the list starts over.
      alerts.length = 0;
      await readSse(
        res.body!,
        (event) => {
          if (event.event !== 'alert') return;
          try {
            alerts.unshift(JSON.parse(event.data) as StationAlert);
          } catch {
            return;
          }
          if (alerts.length > KEPT) alerts.length = KEPT;
          render();
        },
        signal,
      );
      if (!signal.aborted) status.textContent = 'The server ended the alert stream. Reconnecting…';
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 404) {
        status.textContent = 'This server does not run station alerts (stationAlerts.enabled and queries.enabled in its config).';
        return;
      }
      status.textContent = `The alert stream failed: ${describeError(err)}`;
    }
    if (!signal.aborted) timer = setTimeout(() => void follow(), RECONNECT_MS);
  };
  void follow();

  const loadHooks = async () => {
    try {
      const { subscriptions } = await ctx.json<{ subscriptions: Subscription[] }>('/v1/operator/subscriptions');
      if (subscriptions.length === 0) {
        replace(hooksBox, h('p', { class: 'muted' }, 'No webhook is subscribed: alerts are only shown here and kept in the station_alerts stream.'));
        return;
      }
      const list = h('ul', {});
      for (const s of subscriptions) {
        const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Unsubscribe ${s.url}` }, 'Unsubscribe');
        remove.addEventListener('click', async () => {
          remove.disabled = true;
          try {
            await ctx.json(`/v1/operator/subscriptions/${s.id}`, { method: 'DELETE' });
          } catch (err) {
            formError.textContent = `Unsubscribing failed: ${describeError(err)}`;
          }
          await loadHooks();
        });
        list.append(h('li', {}, h('code', {}, s.url), ' ', h('span', { class: 'muted' }, `since ${s.createdAt.slice(0, 16).replace('T', ' ')} UTC`), ' ', remove));
      }
      replace(hooksBox, list);
    } catch (err) {
      replace(hooksBox, h('p', { class: 'error' }, `Could not list the webhooks: ${describeError(err)}`));
    }
  };
  void loadHooks();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    add.disabled = true;
    try {
      await ctx.json('/v1/operator/subscriptions', { method: 'POST', body: { url: url.value.trim(), secret: secret.value } });
      url.value = '';
      secret.value = '';
      await loadHooks();
    } catch (err) {
      formError.textContent = `Subscribing failed: ${describeError(err)}`;
    } finally {
      add.disabled = false;
    }
  });

  return () => {
    controller.abort();
    clearInterval(ackTimer);
    if (timer !== undefined) clearTimeout(timer);
  };
};

/** The console loads this page from the module the build makes of this file (its default export). */
export default stationsPage;
