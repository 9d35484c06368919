/**
 * A raw TCP connection to a test server, for clients that misbehave on purpose (half-sent headers, stalled
 * bodies, idle keep-alive): it keeps what the server sent and tells when the server closed the connection.
 */
import net from 'node:net';

export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything the server sent so far, as latin1 text. */
  received(): string;
  write(bytes: string | Buffer): Promise<void>;
  /** True once the server closed (or reset) the connection within `boundMs`, false if it is still open then. */
  closedWithin(boundMs: number): Promise<boolean>;
  /** Waits (at most `boundMs`) until the server sent something that contains `text`. */
  receivedWithin(text: string, boundMs: number): Promise<boolean>;
  destroy(): void;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let listeners: Array<() => void> = [];
  const notify = () => {
    for (const l of listeners) l();
  };
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    notify();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    notify();
  });
  const waitFor = (done: () => boolean, boundMs: number) =>
    new Promise<boolean>((resolve) => {
      if (done()) return resolve(true);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        listeners = listeners.filter((l) => l !== check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        listeners = listeners.filter((l) => l !== check);
        resolve(done());
      }, boundMs);
      listeners.push(check);
    });
  return {
    socket,
    received: () => text,
    write: (bytes) => new Promise<void>((resolve) => socket.write(bytes, () => resolve())),
    closedWithin: (boundMs) => waitFor(() => closed, boundMs),
    receivedWithin: (needle, boundMs) => waitFor(() => text.includes(needle), boundMs),
    destroy: () => socket.destroy(),
  };
}
