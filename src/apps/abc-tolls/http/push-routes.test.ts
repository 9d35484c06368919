import { describe, expect, it } from 'vitest';
import { pushServiceAllows } from './push-routes.ts';

describe('push services a subscription may point at', () => {
  const services = ['fcm.googleapis.com', 'notify.windows.com', 'http://127.0.0.1:8080'];

  it('takes a listed host and its subdomains over https, and a listed origin exactly', () => {
    expect(pushServiceAllows(services, 'https://fcm.googleapis.com/fcm/send/abc')).toBe(true);
    expect(pushServiceAllows(services, 'https://wns2-by3p.notify.windows.com/w/?token=x')).toBe(true);
    expect(pushServiceAllows(services, 'http://127.0.0.1:8080/push/1')).toBe(true);
  });

  it('refuses other hosts, look-alikes, plain http to a host name, and other ports', () => {
    expect(pushServiceAllows(services, 'http://fcm.googleapis.com/fcm/send/abc')).toBe(false);
    expect(pushServiceAllows(services, 'https://evilfcm.googleapis.com.example/x')).toBe(false);
    expect(pushServiceAllows(services, 'https://xnotify.windows.com/x')).toBe(false);
    expect(pushServiceAllows(services, 'http://127.0.0.1:8081/push/1')).toBe(false);
    expect(pushServiceAllows(services, 'https://169.254.169.254/latest')).toBe(false);
    expect(pushServiceAllows(services, 'not a url')).toBe(false);
  });
});
