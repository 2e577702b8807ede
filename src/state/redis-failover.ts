// After a failover of a Redis with a replica (ElastiCache Multi-AZ, or any primary/replica pair
// behind one DNS name), the name points at the new primary, but a connection opened before may
// still reach the old node, now a replica, which refuses every write with READONLY. ioredis then
// keeps failing on that connection; reconnecting resolves the name again and reaches the primary.

/**
 * ioredis's `reconnectOnError`: on READONLY, reconnect. The refused command fails (its caller
 * retries, as for any Redis error) rather than being sent again: were the name still to point at
 * a replica (a reader endpoint in REDIS_URL), resending would loop.
 */
export function reconnectOnReadOnly(error: Error): boolean {
  return error.message.startsWith('READONLY');
}
