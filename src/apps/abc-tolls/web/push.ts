/**
 * Alerts on this device when the app is closed: Web Push through the service worker. The browser subscribes
 * with the server's VAPID key and the subscription goes to the customer API; the service worker shows what the
 * server pushes (public/sw.js).
 */
import { ApiError } from '../../../../web/src/lib/api.ts';
import { h } from '../../../../web/src/ui/dom.ts';
import type { CustomerApi } from './api.ts';

export interface PushControl {
  readonly element: HTMLElement;
  /** Ends this device's subscription (on signing out), on the server as far as it can be reached. */
  stop(): Promise<void>;
}

/** A button that turns device alerts on and off, with a line saying where things stand. */
export function pushControl(api: CustomerApi): PushControl {
  const button = h('button', { type: 'button', class: 'secondary small', hidden: true }, 'Alert me on this device');
  const state = h('p', { class: 'muted small push-state', role: 'status' });
  const element = h('div', { class: 'push' }, button, state);
  let subscribed: PushSubscription | null = null;

  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  if (!supported) {
    state.textContent = 'This browser cannot show alerts while the app is closed.';
    return { element, stop: async () => undefined };
  }

  const show = () => {
    button.hidden = false;
    button.textContent = subscribed ? 'Stop alerts on this device' : 'Alert me on this device';
    button.setAttribute('aria-pressed', subscribed ? 'true' : 'false');
    if (Notification.permission === 'denied') state.textContent = 'Notifications are blocked for this site in the browser settings.';
    else state.textContent = subscribed ? 'Alerts reach this device even when the app is closed.' : 'Get alerts on this device even when the app is closed.';
  };

  async function turnOn(): Promise<void> {
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      state.textContent = 'Alerts on this device need permission to show notifications.';
      return;
    }
    const { application_server_key: key } = await api.pushKey();
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlBytes(key) });
    const json = subscription.toJSON() as { endpoint?: string; keys?: { p256dh?: string; auth?: string } };
    if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) throw new Error('the browser gave a push subscription without keys');
    await api.pushSubscribe({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
    subscribed = subscription;
  }

  async function turnOff(): Promise<void> {
    const subscription = subscribed;
    if (!subscription) return;
    await api.pushUnsubscribe(subscription.endpoint).catch((err: unknown) => {
      // Already gone on the server (e.g. the push service expired it): nothing left to remove there.
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    });
    await subscription.unsubscribe();
    subscribed = null;
  }

  /** Signing out: the browser's subscription ends even when the server cannot be told (it then gets a 410 on the next push and drops it). */
  async function stop(): Promise<void> {
    const subscription = subscribed ?? (await navigator.serviceWorker.ready.then((r) => r.pushManager.getSubscription()).catch(() => null));
    if (!subscription) return;
    subscribed = subscription;
    await turnOff().catch(async () => {
      await subscription.unsubscribe().catch(() => false);
      subscribed = null;
    });
  }

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await (subscribed ? turnOff() : turnOn());
      show();
    } catch (err) {
      state.textContent =
        err instanceof ApiError && err.isNetwork
          ? 'You are offline: try again when you are back online.'
          : err instanceof ApiError && err.status === 404
            ? 'This server does not send alerts to devices.'
            : `Alerts on this device could not be changed: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });

  // What this browser already has (from an earlier visit), then the button.
  void navigator.serviceWorker.ready
    .then((registration) => registration.pushManager.getSubscription())
    .then((existing) => {
      subscribed = existing;
      show();
    })
    .catch(() => show());
  return { element, stop };
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
