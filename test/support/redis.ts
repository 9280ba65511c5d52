import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { Keys } from "../../src/queue/keys.js";

/** A client on the test run's private redis-server, and a prefix no other test uses. */
export function testRedis() {
  const url = inject("redisUrl");
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const prefix = `t${randomUUID().slice(0, 8)}`;
  return { url, redis, prefix, keys: new Keys(prefix), queuePrefix: `{${prefix}}` };
}
