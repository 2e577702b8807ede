// Counts the system-level writes of sockets: one per `_write` or `_writev` (how many `write`/`writev`
// calls reach the kernel), for the tests of coalesced Redis writes.
import type { Socket } from 'node:net';

type CountedSocket = Socket & { _writev?: Socket['_writev'] };

export function countSocketWrites(sockets: readonly Socket[]): { writes: () => number; restore: () => void } {
  let writes = 0;
  const restores = sockets.map((socket: CountedSocket) => {
    const [write, writev] = [socket._write, socket._writev!];
    socket._write = function (...args: Parameters<Socket['_write']>) {
      writes += 1;
      return write.apply(this, args);
    };
    socket._writev = function (...args: Parameters<NonNullable<Socket['_writev']>>) {
      writes += 1;
      return writev.apply(this, args);
    };
    return () => {
      socket._write = write;
      socket._writev = writev;
    };
  });
  return { writes: () => writes, restore: () => restores.forEach((restore) => restore()) };
}

/** The socket of an ioredis connection's current connection. */
export function socketOf(connection: unknown): Socket | undefined {
  return (connection as { stream?: Socket }).stream;
}
