/**
 * Alert emails on or off: a checkbox under the alerts. The server keeps the choice (`PUT /v1/me/email-alerts`);
 * the unsubscribe link of an email turns them off too, and the app shows that at its next refresh. A server that
 * sends no alert emails (`email_alerts_available` false) gets no checkbox, only a line saying so.
 */
import { ApiError } from '../../../../web/src/lib/api.ts';
import { h } from '../../../../web/src/ui/dom.ts';
import type { CustomerApi, Me } from './api.ts';

export interface EmailAlertsControl {
  readonly element: HTMLElement;
  /** Shows the customer's choice as the server last gave it (not while a change is on its way). */
  show(me: Me): void;
}

export function emailAlertsControl(api: CustomerApi): EmailAlertsControl {
  const box = h('input', { type: 'checkbox', id: 'email-alerts', name: 'email-alerts' }) as HTMLInputElement;
  const label = h('label', { for: 'email-alerts' }, 'Email me my alerts');
  const state = h('p', { class: 'muted small email-state', role: 'status' });
  const choice = h('div', { class: 'row' }, box, label);
  const element = h('div', { class: 'email-alerts', hidden: true }, choice, state);
  let saving = false;

  const describe = (me: Me) => (me.email_alerts ? `Alerts are also emailed to ${me.email}.` : `Alerts are not emailed to ${me.email}.`);

  box.addEventListener('change', async () => {
    const wanted = box.checked;
    saving = true;
    box.disabled = true;
    try {
      const me = await api.setEmailAlerts(wanted);
      box.checked = me.email_alerts;
      state.textContent = describe(me);
    } catch (err) {
      box.checked = !wanted;
      state.textContent = err instanceof ApiError && err.isNetwork ? 'You are offline, so this was not changed. Try again when you are back online.' : `Not changed: ${(err as Error).message}`;
    } finally {
      saving = false;
      box.disabled = false;
    }
  });

  return {
    element,
    show(me) {
      // An answer kept from before the setting existed has no field: nothing to show until the next refresh.
      if (typeof me.email_alerts !== 'boolean' || typeof me.email_alerts_available !== 'boolean' || saving) return;
      element.hidden = false;
      choice.hidden = !me.email_alerts_available;
      if (!me.email_alerts_available) {
        state.textContent = 'Alerts are not emailed: email is not set up on this server.';
        return;
      }
      box.checked = me.email_alerts;
      state.textContent = describe(me);
    },
  };
}
