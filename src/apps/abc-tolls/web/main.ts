/**
 * The ABC Tolls customer app (/app/): sign in with a customer token, month-to-date spend with a per-day
 * chart and the threshold line, the monthly alert threshold, alerts that arrive live over SSE (and, once the
 * device is subscribed, by Web Push: push.ts), and the month's trips (trips.ts). Works offline from the service
 * worker's shell, the last figures and the last alerts kept in localStorage.
 */
import '../../../../web/src/styles.css';
import './app.css';
import { ApiError } from '../../../../web/src/lib/api.ts';
import { centsToInput, formatCents, parseDollars } from '../../../../web/src/lib/money.ts';
import { announce, h, replace } from '../../../../web/src/ui/dom.ts';
import { customerApi, type CustomerApi, type Me, type Notification, type Spend } from './api.ts';
import { monthName, notificationText, when } from './format.ts';
import { spendChart, type SpendChart } from './spend-chart.ts';
import { forgetAlerts, keepAlerts, keptAlerts } from './kept-alerts.ts';
import { pushControl } from './push.ts';
import { emailAlertsControl } from './email-alerts.ts';
import { tripsCard } from './trips.ts';

const TOKEN_KEY = 'tollstream.customer.token';
const CACHE_KEY = 'tollstream.customer.last';

interface Cached {
  readonly me: Me;
  readonly spend: Spend;
}

const root = document.getElementById('root')!;

if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => undefined);
}

start();

function start(): void {
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) signedIn(token);
  else signIn();
}

// ---------------------------------------------------------------- sign in

function signIn(message?: string): void {
  document.title = 'Sign in — ABC Tolls';
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'token-hint token-error', spellcheck: 'false' });
  const error = h('p', { id: 'token-error', class: 'error', role: 'alert' }, message ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card signin', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Access token'), input, h('p', { id: 'token-hint', class: 'hint' }, 'The access token from your ABC Tolls account. It stays on this device until you sign out.')),
    error,
    button,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (token === '') {
      error.textContent = 'Enter your access token.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    error.textContent = '';
    try {
      const me = await customerApi(token).me();
      localStorage.setItem(TOKEN_KEY, token);
      signedIn(token, me);
    } catch (err) {
      error.textContent = signInError(err);
      input.setAttribute('aria-invalid', 'true');
      button.disabled = false;
      button.textContent = 'Sign in';
      input.focus();
    }
  });
  replace(
    root,
    h('header', { class: 'bar' }, h('span', { class: 'brand' }, 'ABC Tolls')),
    h('main', { id: 'main', class: 'page' }, h('h1', {}, 'Your toll spending'), h('p', { class: 'muted' }, 'Sign in to see what you spent this month and get an alert when you pass your limit.'), form),
    h('div', { id: 'announcer', class: 'sr-only', 'aria-live': 'polite' }),
  );
  input.focus();
}

function signInError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.isNetwork) return navigator.onLine ? 'ABC Tolls cannot be reached right now. Try again in a moment.' : 'You are offline. Connect to the internet to sign in.';
    if (err.status === 401) return 'That access token was not accepted. Check it and try again.';
    if (err.status === 404) return 'This server does not offer the customer service (/v1/me was not found).';
    return err.message;
  }
  return 'Signing in failed. Try again.';
}

// ---------------------------------------------------------------- signed in

function signedIn(token: string, knownMe?: Me): void {
  document.title = 'My spending — ABC Tolls';
  const api = customerApi(token);
  const state = {
    me: knownMe as Me | undefined,
    spend: undefined as Spend | undefined,
    notifications: [] as Notification[],
    unread: 0,
    /** 'loading' until the server (or the cache) has told us; 'cached' when shown from the cache; 'unknown' when neither could. */
    alerts: 'loading' as 'loading' | 'live' | 'cached' | 'unknown',
    alertsAt: 0,
    stopped: false,
  };

  // --- layout
  const badge = h('span', { class: 'badge', 'aria-hidden': 'true' });
  const bell = h('button', { type: 'button', class: 'bell', 'aria-controls': 'alerts' }, bellIcon(), h('span', { class: 'bell-label' }, 'Alerts'), badge);
  const signOutButton = h('button', { type: 'button', class: 'link' }, 'Sign out');
  const offline = h('div', { class: 'notice warn banner', role: 'status', hidden: true });
  const who = h('p', { class: 'muted who' });

  const spendBody = h('div', {}, h('p', { class: 'loading' }, 'Loading your spending…'));
  const spendError = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const spendCard = h('section', { class: 'card', 'aria-labelledby': 'spend-title' }, h('h2', { id: 'spend-title' }, 'Spending this month'), spendError, spendBody);

  const thresholdInput = h('input', { id: 'threshold', name: 'threshold', inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': 'threshold-hint threshold-error', placeholder: '50.00' });
  const thresholdError = h('p', { id: 'threshold-error', class: 'error', role: 'alert' });
  const thresholdStatus = h('p', { class: 'status', role: 'status' });
  const saveButton = h('button', { type: 'submit' }, 'Save threshold');
  const removeButton = h('button', { type: 'button', class: 'secondary' }, 'Remove threshold');
  const thresholdNow = h('p', { class: 'muted' });
  const thresholdForm = h(
    'form',
    { novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'threshold' }, 'Alert me when my spending this month passes'),
      h('div', { class: 'money-input' }, h('span', { 'aria-hidden': 'true' }, '$'), thresholdInput),
      h('p', { id: 'threshold-hint', class: 'hint' }, 'In dollars, for example 50 or 49.99.'),
    ),
    thresholdError,
    h('div', { class: 'row' }, saveButton, removeButton),
    thresholdStatus,
  );
  const thresholdCard = h('section', { class: 'card', 'aria-labelledby': 'threshold-title' }, h('h2', { id: 'threshold-title' }, 'Monthly alert threshold'), thresholdNow, thresholdForm);

  const liveState = h('p', { class: 'muted live-state', role: 'status' });
  const markAllButton = h('button', { type: 'button', class: 'secondary small', disabled: true }, 'Mark all as read');
  const list = h('ul', { class: 'notes', 'aria-label': 'Alerts, newest first' });
  const alertsError = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const devicePush = pushControl(api);
  const emailAlerts = emailAlertsControl(api);
  const alertsNote = h('p', { class: 'notice warn', role: 'status', hidden: true });
  const alertsCard = h(
    'section',
    { class: 'card', id: 'alerts', 'aria-labelledby': 'alerts-title', tabindex: -1 },
    h('div', { class: 'row' }, h('h2', { id: 'alerts-title' }, 'Alerts'), h('span', { class: 'spacer' }), markAllButton),
    liveState,
    devicePush.element,
    emailAlerts.element,
    alertsError,
    alertsNote,
    list,
  );
  const trips = tripsCard(api, () => state.spend?.month ?? new Date().toISOString().slice(0, 7), (err) => failed(err, alertsError, true));

  replace(
    root,
    h('header', { class: 'bar' }, h('span', { class: 'brand' }, 'ABC Tolls'), h('span', { class: 'spacer' }), bell, signOutButton),
    h('main', { id: 'main', class: 'page' }, offline, who, spendCard, thresholdCard, alertsCard, trips.element),
    h('div', { id: 'announcer', class: 'sr-only', 'aria-live': 'polite' }),
  );

  let chart: SpendChart | undefined;

  // --- rendering
  const currency = () => state.spend?.currency ?? state.me?.currency ?? 'USD';

  function renderWho(): void {
    who.textContent = state.me ? `Signed in as ${state.me.name || state.me.customer_id}` : '';
  }

  function renderSpend(): void {
    const s = state.spend;
    if (!s) return;
    const c = s.currency;
    const threshold = s.threshold_cents;
    const ratio = threshold && threshold > 0 ? s.total_cents / threshold : undefined;
    const over = threshold !== null && s.total_cents > threshold;
    const meter =
      ratio === undefined
        ? null
        : h(
            'div',
            { class: `meter${over ? ' over' : ''}`, role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': threshold ?? 0, 'aria-valuenow': Math.min(s.total_cents, threshold ?? 0), 'aria-label': 'Spending against your threshold' },
            h('div', { class: 'meter-fill', style: `width: ${Math.min(100, Math.round(ratio * 100))}%` }),
          );
    const table = h(
      'details',
      { class: 'days' },
      h('summary', {}, 'Daily amounts'),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col', class: 'num' }, 'Spent'))),
        h('tbody', {}, ...(s.days.length === 0 ? [h('tr', {}, h('td', { colspan: 2 }, 'No tolls yet this month.'))] : s.days.map((d) => h('tr', {}, h('td', {}, d.date), h('td', { class: 'num' }, formatCents(d.total_cents, c)))))),
      ),
    );
    const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': chartLabel(s) });
    replace(
      spendBody,
      h('p', { class: 'month' }, monthName(s.month)),
      h('p', { class: `total${over ? ' over' : ''}` }, h('span', { class: 'amount', 'data-testid': 'total' }, formatCents(s.total_cents, c)), threshold === null ? h('span', { class: 'of' }, ' spent so far') : h('span', { class: 'of' }, ` of your ${formatCents(threshold, c)} threshold`)),
      over ? h('p', { class: 'notice warn' }, 'You are over your threshold for this month.') : null,
      meter,
      chartBox,
      table,
    );
    chart?.destroy();
    chart = spendChart(chartBox, s);
    thresholdNow.textContent = threshold === null ? 'No threshold is set: you get no spending alerts.' : `Current threshold: ${formatCents(threshold, c)} a month.`;
    removeButton.disabled = threshold === null;
    if (document.activeElement !== thresholdInput && thresholdInput.value === '' && threshold !== null) thresholdInput.value = centsToInput(threshold);
  }

  function renderAlerts(): void {
    const unread = state.unread;
    badge.textContent = unread > 0 ? String(unread > 99 ? '99+' : unread) : '';
    badge.hidden = unread === 0;
    bell.setAttribute('aria-label', unread === 0 ? 'Alerts, none unread' : `Alerts, ${unread} unread`);
    markAllButton.disabled = unread === 0 || state.alerts !== 'live';
    alertsNote.hidden = state.alerts !== 'cached' && state.alerts !== 'unknown';
    alertsNote.textContent =
      state.alerts === 'cached'
        ? `These are your alerts as of ${when(state.alertsAt)}, kept on this device; new ones show when you are back online.`
        : state.alerts === 'unknown'
          ? 'Your alerts cannot be loaded right now. They show here when the connection is back.'
          : '';
    if (state.notifications.length === 0) {
      // Only the server can say there are none: while it has not, say that we do not know yet.
      const empty =
        state.alerts === 'live' || state.alerts === 'cached'
          ? 'No alerts yet. When your spending passes your threshold, the alert shows up here at once.'
          : state.alerts === 'loading'
            ? 'Loading your alerts…'
            : '';
      if (empty === '') list.replaceChildren();
      else replace(list, h('li', { class: 'empty' }, empty));
      return;
    }
    replace(
      list,
      ...state.notifications.map((n) => {
        const mark = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Mark as read: ${notificationText(n, currency())}`, disabled: state.alerts !== 'live' }, 'Mark read');
        mark.addEventListener('click', () => void markRead([n.id]));
        return h(
          'li',
          { class: `note${n.read ? '' : ' unread'}`, 'data-id': n.id },
          h('div', {}, n.read ? null : h('span', { class: 'dot', 'aria-label': 'Unread' }), h('p', { class: 'note-text' }, notificationText(n, currency())), h('p', { class: 'muted small' }, h('time', {}, when(n.created_at)))),
          n.read ? null : mark,
        );
      }),
    );
  }

  function saveCache(): void {
    if (state.me && state.spend) localStorage.setItem(CACHE_KEY, JSON.stringify({ me: state.me, spend: state.spend } satisfies Cached));
  }

  function saveAlerts(): void {
    if (state.alerts !== 'live') return;
    state.alertsAt = Date.now();
    keepAlerts({ notifications: state.notifications, unread: state.unread, at: state.alertsAt });
  }

  /** The alerts last shown, when the server cannot be asked; false when none were ever kept. */
  function loadAlerts(): boolean {
    const kept = keptAlerts();
    if (!kept) return false;
    state.notifications = kept.notifications;
    state.unread = kept.unread;
    state.alertsAt = kept.at;
    state.alerts = 'cached';
    return true;
  }

  function loadCache(): boolean {
    try {
      const cached = JSON.parse(localStorage.getItem(CACHE_KEY) ?? 'null') as Cached | null;
      if (!cached) return false;
      state.me ??= cached.me;
      state.spend = cached.spend;
      return true;
    } catch {
      return false;
    }
  }

  // --- online / offline
  function setOffline(isOffline: boolean): void {
    offline.hidden = !isOffline;
    offline.textContent = isOffline ? 'You are offline. These are the last figures we had; they update when you are back online.' : '';
  }

  const onOnline = () => {
    setOffline(false);
    void refresh();
    void loadNotifications().then(() => connect());
    void trips.reload();
  };
  const onOffline = () => {
    setOffline(true);
    liveState.textContent = 'Live alerts resume when you are back online.';
  };
  window.addEventListener('online', onOnline);
  window.addEventListener('offline', onOffline);

  /** Shows a failed load: offline (cached figures stay), signed out, or the server's message (unless `quiet`: the caller shows it). */
  function failed(err: unknown, where: HTMLElement, quiet = false): void {
    if (err instanceof ApiError && err.status === 401) {
      signOut('Your session ended (the access token is no longer valid). Sign in again.');
      return;
    }
    if (err instanceof ApiError && err.isNetwork) {
      setOffline(true);
      return;
    }
    if (quiet) return;
    where.hidden = false;
    where.textContent = err instanceof ApiError && err.status === 404 ? 'This server does not offer the customer service yet.' : `Could not load: ${(err as Error).message}`;
  }

  // --- data
  async function refresh(): Promise<void> {
    try {
      const [me, spend] = await Promise.all([api.me(), api.spend()]);
      // The trip history of this month lags its total (the warehouse loads every few seconds): catch up.
      const shown = trips.shown();
      if (shown && shown.month === spend.month && shown.totalCents !== spend.total_cents) void trips.reload();
      state.me = me;
      state.spend = spend;
      spendError.hidden = true;
      setOffline(!navigator.onLine);
      saveCache();
      renderWho();
      emailAlerts.show(me);
      renderSpend();
    } catch (err) {
      if (!state.spend && loadCache()) {
        renderWho();
        renderSpend();
      }
      failed(err, spendError);
      if (!state.spend && !(err instanceof ApiError && err.status === 401)) replace(spendBody, h('p', { class: 'muted' }, 'Your spending is not available right now.'));
    }
  }

  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refresh(), 300);
  };
  // Tolls add up between alerts too: while the page is in view, the month-to-date figures follow them.
  const SPEND_REFRESH_MS = 10_000;
  const spendTimer = setInterval(() => {
    if (document.visibilityState === 'visible' && navigator.onLine) void refresh();
  }, SPEND_REFRESH_MS);
  const onVisible = () => {
    if (document.visibilityState === 'visible') refreshSoon();
  };
  document.addEventListener('visibilitychange', onVisible);

  async function loadNotifications(): Promise<void> {
    try {
      let after: number | undefined;
      let all: Notification[] = [];
      let unread = 0;
      // Pages of 200 oldest-first; keep the newest 200 for the list.
      for (let page = 0; page < 10; page++) {
        const answer = await api.notifications(after, 200);
        unread = answer.unread;
        all = all.concat(answer.notifications).slice(-200);
        if (answer.notifications.length < 200) break;
        after = answer.notifications[answer.notifications.length - 1]!.id;
      }
      // Entries shown from the cache are superseded by the server's answer; live ones (from the stream) are kept.
      const known = new Map(state.alerts === 'live' ? state.notifications.map((n) => [n.id, n]) : []);
      for (const n of all) known.set(n.id, n);
      state.notifications = [...known.values()].sort((a, b) => b.id - a.id);
      state.unread = unread;
      state.alerts = 'live';
      alertsError.hidden = true;
      saveAlerts();
      renderAlerts();
    } catch (err) {
      if (state.alerts !== 'live' && state.alerts !== 'cached' && !loadAlerts()) state.alerts = 'unknown';
      renderAlerts();
      failed(err, alertsError);
    }
  }

  async function markRead(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      const { unread } = await api.markRead(ids);
      for (const n of state.notifications) if (ids.includes(n.id)) n.read = true;
      state.unread = unread;
      saveAlerts();
      renderAlerts();
      announce(ids.length === 1 ? 'Alert marked as read.' : 'All alerts marked as read.');
      (list.querySelector<HTMLButtonElement>('li.unread button') ?? alertsCard).focus();
    } catch (err) {
      failed(err, alertsError);
    }
  }

  // --- live notifications
  let source: EventSource | undefined;
  function connect(): void {
    source?.close();
    if (state.stopped) return;
    const lastId = state.notifications.reduce<number | undefined>((max, n) => (max === undefined || n.id > max ? n.id : max), undefined);
    const es = new EventSource(api.streamUrl(lastId));
    source = es;
    es.addEventListener('open', () => {
      liveState.textContent = 'Live: new alerts appear here as they happen.';
      root.dataset.live = 'open';
    });
    es.addEventListener('notification', (event) => {
      let n: Notification;
      try {
        n = JSON.parse((event as MessageEvent<string>).data) as Notification;
      } catch {
        return;
      }
      if (state.notifications.some((x) => x.id === n.id)) return;
      state.notifications.unshift(n);
      state.notifications.sort((a, b) => b.id - a.id);
      if (!n.read) state.unread += 1;
      saveAlerts();
      renderAlerts();
      announce(`New alert. ${notificationText(n, currency())}`);
      refreshSoon();
    });
    es.addEventListener('error', () => {
      root.dataset.live = 'closed';
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream (e.g. the token was revoked): find out why, then retry later.
        liveState.textContent = 'Live alerts are paused. Retrying…';
        api.me().then(
          () => setTimeout(() => source === es && connect(), 5000),
          (err: unknown) => failed(err, alertsError),
        );
      } else {
        liveState.textContent = navigator.onLine ? 'Live alerts are reconnecting…' : 'Live alerts resume when you are back online.';
      }
    });
  }

  // --- threshold form
  thresholdForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const parsed = parseDollars(thresholdInput.value);
    if (!parsed.ok) {
      thresholdError.textContent = parsed.reason;
      thresholdInput.setAttribute('aria-invalid', 'true');
      thresholdInput.focus();
      return;
    }
    await saveThreshold(parsed.cents);
  });
  thresholdInput.addEventListener('input', () => {
    thresholdInput.removeAttribute('aria-invalid');
    thresholdError.textContent = '';
  });
  removeButton.addEventListener('click', () => void saveThreshold(null));

  async function saveThreshold(cents: number | null): Promise<void> {
    thresholdError.textContent = '';
    thresholdStatus.textContent = '';
    thresholdInput.removeAttribute('aria-invalid');
    saveButton.disabled = true;
    removeButton.disabled = true;
    try {
      const answer = await api.setThreshold(cents);
      const c = currency();
      if (answer.threshold_cents === null) {
        thresholdInput.value = '';
        thresholdStatus.textContent = 'Threshold removed. You will not get spending alerts.';
      } else {
        thresholdInput.value = centsToInput(answer.threshold_cents);
        thresholdStatus.textContent = answer.breached
          ? `Saved: ${formatCents(answer.threshold_cents, c)}. You have already spent ${formatCents(answer.total_cents, c)} this month, so an alert is on its way.`
          : `Saved: we will alert you when this month's spending passes ${formatCents(answer.threshold_cents, c)}.`;
      }
      if (state.spend) {
        state.spend = { ...state.spend, threshold_cents: answer.threshold_cents, total_cents: answer.total_cents };
        renderSpend();
      }
      refreshSoon();
    } catch (err) {
      if (err instanceof ApiError && err.isNetwork) thresholdError.textContent = 'You are offline, so the threshold was not saved. Try again when you are back online.';
      else if (err instanceof ApiError && err.status === 400) thresholdError.textContent = err.message;
      else if (err instanceof ApiError && err.status === 401) failed(err, thresholdError);
      else thresholdError.textContent = `The threshold was not saved: ${(err as Error).message}`;
    } finally {
      saveButton.disabled = false;
      removeButton.disabled = state.spend?.threshold_cents === null;
    }
  }

  // --- header buttons
  bell.addEventListener('click', () => {
    alertsCard.scrollIntoView({ behavior: 'smooth', block: 'start' });
    alertsCard.focus({ preventScroll: true });
  });
  markAllButton.addEventListener('click', () => void markRead(state.notifications.filter((n) => !n.read).map((n) => n.id)));
  signOutButton.addEventListener('click', () => signOut());

  function signOut(message?: string): void {
    state.stopped = true;
    // The next person on this device must not get this customer's alerts.
    void devicePush.stop();
    source?.close();
    chart?.destroy();
    clearTimeout(refreshTimer);
    clearInterval(spendTimer);
    document.removeEventListener('visibilitychange', onVisible);
    window.removeEventListener('online', onOnline);
    window.removeEventListener('offline', onOffline);
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(CACHE_KEY);
    forgetAlerts();
    signIn(message);
  }

  // --- go
  renderWho();
  renderAlerts();
  setOffline(!navigator.onLine);
  void refresh().then(() => trips.reload());
  void loadNotifications().then(() => connect());
}

/** A bell drawn inline, so it shows without an emoji font. */
function bellIcon(): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M12 2a6 6 0 0 0-6 6v3.6L4.3 15.2A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.8L18 11.6V8a6 6 0 0 0-6-6Zm0 20a3 3 0 0 0 2.8-2H9.2A3 3 0 0 0 12 22Z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

function chartLabel(s: Spend): string {
  const t = s.threshold_cents === null ? 'no threshold set' : `threshold ${formatCents(s.threshold_cents, s.currency)}`;
  return `Chart of spending per day in ${monthName(s.month)}: ${s.days.length} days with tolls, ${formatCents(s.total_cents, s.currency)} in total, ${t}. The amounts are in the Daily amounts table below.`;
}
