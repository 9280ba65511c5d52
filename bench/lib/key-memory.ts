// Where Redis bytes go: every key's `MEMORY USAGE` (exact: SAMPLES 0), grouped by what the key is.
import type { Redis } from "ioredis";

export interface KeyGroup {
  group: string;
  keys: number;
  bytes: number;
}

/** Scans the whole keyspace and sums `MEMORY USAGE … SAMPLES 0` per group `classify(key)` names. */
export async function memoryByGroup(redis: Redis, classify: (key: string) => string): Promise<Map<string, KeyGroup>> {
  const groups = new Map<string, KeyGroup>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 2000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0");
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const bytes = Number(replies[i]?.[1] ?? 0);
      const name = classify(key);
      const group = groups.get(name) ?? { group: name, keys: 0, bytes: 0 };
      group.keys++;
      group.bytes += bytes;
      groups.set(name, group);
    });
  } while (cursor !== "0");
  return groups;
}

/** One key's type, encoding, length and bytes, for a sample's table. */
export async function describeKey(redis: Redis, key: string): Promise<{ key: string; type: string; encoding: string; length: number; bytes: number; ttlSeconds: number }> {
  const type = await redis.type(key);
  const encoding = String(await redis.call("OBJECT", "ENCODING", key));
  const bytes = Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
  const length =
    type === "hash" ? await redis.hlen(key) : type === "stream" ? await redis.xlen(key) : type === "zset" ? await redis.zcard(key) : type === "string" ? await redis.strlen(key) : 0;
  const ttlSeconds = await redis.ttl(key);
  return { key, type, encoding, length, bytes, ttlSeconds };
}
