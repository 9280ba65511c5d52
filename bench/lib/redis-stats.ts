// What Redis itself reports, for benchmarks that count commands or bytes: `INFO commandstats`
// (every command Redis executed, including the ones run inside Lua scripts), the commands this
// process's ioredis clients sent (round trips, before Lua), and `INFO memory`.
import { Redis } from "ioredis";

export type Counts = Map<string, number>;

/** Calls per command from `INFO commandstats` (`cmdstat_hset:calls=3,…` → hset → 3). */
export async function commandStats(redis: Redis): Promise<Counts> {
  const info = await redis.info("commandstats");
  const counts: Counts = new Map();
  for (const line of info.split("\n")) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

/** after − before per command, without the `INFO` calls that took the snapshots. */
export function diffCounts(before: Counts, after: Counts): Counts {
  const diff: Counts = new Map();
  for (const [name, calls] of after) {
    if (name === "info") continue;
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0) diff.set(name, delta);
  }
  return diff;
}

export function total(counts: Counts): number {
  let sum = 0;
  for (const calls of counts.values()) sum += calls;
  return sum;
}

/** The `top` commands by count, each divided by `per` (e.g. per transition), as "cmd 1.23". */
export function topPer(counts: Counts, per: number, top = 12): Record<string, number> {
  return Object.fromEntries(
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, calls]) => [name, Math.round((calls / per) * 100) / 100]),
  );
}

let installed = false;
const sent: Counts = new Map();

/**
 * Counts every command any ioredis client of this process sends (BullMQ's included: it uses the
 * connections it is given and their duplicates). A Lua script is one command here, however many
 * commands it runs inside Redis. Installed once; read with `sentCommands()`.
 */
export function countSentCommands(): void {
  if (installed) return;
  installed = true;
  const proto = Redis.prototype as unknown as { sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown };
  const original = proto.sendCommand;
  proto.sendCommand = function (this: unknown, command: { name: string }, ...rest: unknown[]) {
    const name = String(command.name).toLowerCase();
    sent.set(name, (sent.get(name) ?? 0) + 1);
    return original.call(this, command, ...rest);
  };
}

export function sentCommands(): Counts {
  return new Map(sent);
}

/** `used_memory` in bytes, after giving lazily freed memory a moment to go. */
export async function usedMemory(redis: Redis): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const info = await redis.info("memory");
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new Error("bench: INFO memory has no used_memory");
  return Number(match[1]);
}

/** Redis's own CPU time so far (INFO cpu: used_cpu_user + used_cpu_sys), in milliseconds. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1000;
}
