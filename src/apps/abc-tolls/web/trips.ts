/**
 * The trip history card: a month's tolls newest first (plaza, time, vehicle class, amount), a page at a time
 * with "Show more", and the month's total, which the server computes over the whole month (so it is the sum of
 * every row once all are shown). Months are moved through with Previous / Next.
 */
import { ApiError } from '../../../../web/src/lib/api.ts';
import { formatCents } from '../../../../web/src/lib/money.ts';
import { h, replace } from '../../../../web/src/ui/dom.ts';
import type { CustomerApi, Trip, TripPage } from './api.ts';
import { monthName, when } from './format.ts';

const CLASSES = ['', 'Motorcycle', 'Car', 'Light truck', 'Bus', 'Heavy truck'];

export interface TripsCard {
  readonly element: HTMLElement;
  /** Loads the month shown (the current one at first) again from its first page. */
  reload(): Promise<void>;
  /** The month shown and its total, once loaded. */
  shown(): { readonly month: string; readonly totalCents: number } | undefined;
}

/** `onFailure` handles errors the card cannot show itself (a revoked token, being offline). */
export function tripsCard(api: CustomerApi, currentMonth: () => string, onFailure: (err: unknown) => void): TripsCard {
  let month: string | undefined;
  let loaded: Trip[] = [];
  let last: TripPage | undefined;
  /** Each load's number: an answer to a load that a later one replaced (another month) is dropped. */
  let loads = 0;

  const title = h('h2', { id: 'trips-title' }, 'Trip history');
  const monthLabel = h('p', { class: 'month', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'secondary small' }, 'Previous month');
  const next = h('button', { type: 'button', class: 'secondary small' }, 'Next month');
  const summary = h('p', { class: 'trips-total' });
  const status = h('p', { class: 'muted small', role: 'status' });
  const body = h('tbody', {});
  const table = h(
    'table',
    { class: 'trips' },
    h('caption', { class: 'sr-only' }, 'Tolls of the month, newest first'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Plaza'), h('th', { scope: 'col' }, 'Class'), h('th', { scope: 'col', class: 'num' }, 'Amount'))),
    body,
  );
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  const element = h('section', { class: 'card', 'aria-labelledby': 'trips-title' }, title, monthLabel, summary, table, more, status, h('div', { class: 'row trips-nav' }, prev, h('span', { class: 'spacer' }), next));

  const shift = (m: string, by: number) => {
    const [y, mo] = m.split('-').map(Number) as [number, number];
    const d = new Date(Date.UTC(y, mo - 1 + by, 1));
    return d.toISOString().slice(0, 7);
  };

  function render(): void {
    const page = last;
    monthLabel.textContent = month ? monthName(month) : '';
    next.disabled = month === undefined || month >= currentMonth();
    if (!page) return;
    const c = page.currency;
    summary.replaceChildren(
      h('span', { class: 'amount', 'data-testid': 'trips-total' }, formatCents(page.total_cents, c)),
      ` in ${page.transactions} ${page.transactions === 1 ? 'toll' : 'tolls'}`,
    );
    if (loaded.length === 0) {
      replace(body, h('tr', {}, h('td', { colspan: 4 }, `No tolls in ${monthName(page.month)}.`)));
    } else {
      replace(
        body,
        ...loaded.map((t) =>
          h(
            'tr',
            { class: 'trip', 'data-id': t.transaction_id },
            h('td', {}, h('time', { datetime: t.event_time }, shortWhen(t.event_time))),
            h('td', {}, t.plaza_id),
            h('td', {}, CLASSES[t.vehicle_class] ?? String(t.vehicle_class)),
            h('td', { class: 'num' }, formatCents(t.amount_cents, t.currency)),
          ),
        ),
      );
    }
    more.hidden = page.cursor === undefined;
    const shown = loaded.length < page.transactions ? `Showing the newest ${loaded.length}. ` : '';
    status.textContent = `${shown}${page.as_of ? `Tolls recorded up to ${when(page.as_of)}; new ones show within seconds.` : 'No tolls recorded yet.'}`;
  }

  async function load(reset: boolean): Promise<void> {
    const mine = ++loads;
    more.disabled = true;
    month ??= currentMonth();
    try {
      const page = await api.trips(month, reset ? undefined : last?.cursor);
      if (mine !== loads) return;
      loaded = reset ? [...page.trips] : loaded.concat(page.trips);
      last = page;
      render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 503) status.textContent = 'Trip history is not available on this server.';
      else if (err instanceof ApiError && err.isNetwork) status.textContent = last ? 'You are offline: these are the trips loaded before.' : 'Trip history loads when you are back online.';
      else if (!(err instanceof ApiError && err.status === 401)) status.textContent = `Could not load the trips: ${(err as Error).message}`;
      onFailure(err);
    } finally {
      if (mine === loads) more.disabled = false;
    }
  }

  prev.addEventListener('click', () => {
    month = shift(month ?? currentMonth(), -1);
    last = undefined;
    loaded = [];
    render();
    void load(true);
  });
  next.addEventListener('click', () => {
    month = shift(month ?? currentMonth(), 1);
    last = undefined;
    loaded = [];
    render();
    void load(true);
  });
  more.addEventListener('click', () => void load(false));
  render();
  return { element, reload: () => load(true), shown: () => (last ? { month: last.month, totalCents: last.total_cents } : undefined) };
}

/** `Dec 7, 9:41 AM`: the year is the month's, shown above the table. */
function shortWhen(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
}
