// One socket write per connection per event-loop turn, instead of one per command.
//
// ioredis writes every command to its socket as it is sent: one `write` syscall each (about 50 µs on
// a small VM, more than ioredis spends building the command). Under a burst — twenty Slack requests
// and the workers' job steps in the same turn — that is most of the bot's CPU. Corking the socket at
// its first write in a turn and uncorking it once the turn's callbacks have run (setImmediate: after
// the I/O callbacks of this turn) sends everything written meanwhile in one `writev`.
//
// Nothing else changes: the bytes, their order and each command's reply are ioredis' own; a command
// leaves at most one turn later than it would have, never waiting for a timer. Unlike ioredis'
// auto-pipelining (which builds a Pipeline per batch and is unsafe for BullMQ), it is below ioredis.
import type { Socket } from 'node:net';
import { Cluster, type Redis } from 'ioredis';

const corked = new Set<Socket>();
let flushScheduled = false;
const wrapped = new WeakSet<object>();

function flush(): void {
  flushScheduled = false;
  for (const socket of corked) {
    // Destroyed meanwhile: its writes failed with it, and ioredis reconnects on a new socket.
    if (!socket.destroyed) socket.uncork();
  }
  corked.clear();
}

/** Makes `socket` cork at its first write of a turn; all corked sockets are uncorked at the turn's end. */
export function coalesceSocketWrites(socket: Socket): void {
  if (wrapped.has(socket)) return;
  wrapped.add(socket);
  const write = socket.write;
  socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked.has(this)) {
      this.cork();
      corked.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
    return write.apply(this, args);
  } as Socket['write'];
}

/**
 * Coalesces the writes of `redis` on every socket it opens: each reconnect opens a new one, and a
 * cluster client one per node.
 */
export function coalesceRedisWrites(redis: Redis | Cluster): void {
  if (redis instanceof Cluster) {
    redis.on('+node', (node: Redis) => coalesceNodeWrites(node));
    for (const node of redis.nodes()) coalesceNodeWrites(node);
    return;
  }
  coalesceNodeWrites(redis);
}

function coalesceNodeWrites(node: Redis): void {
  if (wrapped.has(node)) return;
  wrapped.add(node);
  const current = (): void => {
    // `stream` is ioredis' socket of the current connection (a TLS socket is a net.Socket too).
    const stream = (node as unknown as { stream?: Socket }).stream;
    if (stream) coalesceSocketWrites(stream);
  };
  node.on('connect', current);
  current();
}
