// A TCP proxy on loopback in front of Redis that can hold every byte from the client for a while:
// what a Redis slow to answer looks like to lanebot, without slowing the Redis other tests share.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface SlowProxy {
  url: string;
  /** Delay (ms) added to everything clients send from now on; 0 = none. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowProxy(target = { host: '127.0.0.1', port: 6379 }): Promise<SlowProxy> {
  const sockets = new Set<Socket>();
  const proxy: SlowProxy = { url: '', delayMs: 0, close: async () => undefined };
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      const delay = proxy.delayMs;
      if (delay > 0) setTimeout(() => upstream.write(chunk), delay);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  proxy.url = `redis://127.0.0.1:${address.port}`;
  proxy.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
