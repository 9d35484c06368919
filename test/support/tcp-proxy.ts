/**
 * A TCP proxy on 127.0.0.1 in front of a server (PostgreSQL in the tests): closing it cuts every connection
 * through it, a network outage as the client sees it; it can also cut a client right after it sent a COMMIT.
 */
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** When set, the next COMMIT is passed to the server and the client's connection is cut before the answer. */
  private cutNextCommit = false;
  port = 0;
  /** How long a new connection waits before it is passed on to the server, in ms: a server slow to accept (loaded). */
  connectDelayMs = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      if (this.connectDelayMs > 0) {
        client.pause();
        this.sockets.add(client);
        client.on('error', () => undefined);
        const timer = setTimeout(() => {
          this.sockets.delete(client);
          if (client.destroyed) return;
          this.relay(client);
          client.resume();
        }, this.connectDelayMs);
        client.on('close', () => clearTimeout(timer));
        return;
      }
      this.relay(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private relay(client: net.Socket): void {
    const upstream = net.connect(this.target);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (this.cutNextCommit && chunk.includes('COMMIT\u0000')) {
        this.cutNextCommit = false;
        client.destroy();
        // The server reads the COMMIT before it sees the end of the connection, so it does commit.
        upstream.end();
      }
    });
    client.on('end', () => upstream.end());
  }

  cutAfterNextCommit(): void {
    this.cutNextCommit = true;
  }

  /** Stops listening and cuts every open connection. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}
