import { Redis, type RedisOptions } from "ioredis";

/** Raised when Redis cannot be reached at start-up: names the URL and what to do. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
  constructor(url: string, cause: unknown) {
    super(
      `conveyor: cannot reach Redis at ${redactUrl(url)} (${cause instanceof Error ? cause.message : String(cause)}). ` +
        "Start Redis there, fix REDIS_URL, or unset REDIS_URL so `npm start` runs a local one.",
      { cause },
    );
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

/**
 * A connection for BullMQ workers and our own commands. `maxRetriesPerRequest: null` is what
 * BullMQ requires of worker connections: commands wait for a reconnect instead of failing.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

/** Connects once with a short timeout so a wrong URL fails fast with a clear message. */
export async function connectRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3_000, retryStrategy: () => null });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new RedisUnavailableError(url, error);
  } finally {
    probe.disconnect();
  }
  return createRedis(url, options);
}
