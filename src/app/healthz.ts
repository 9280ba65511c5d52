import type { IncomingMessage, ServerResponse } from "node:http";
import type { Redis } from "ioredis";
import type { Queues } from "../queue/queues.js";

export interface Health {
  status: "ok" | "degraded";
  redis: { ok: boolean; latencyMs?: number; error?: string };
  queues: Record<string, Record<string, number>>;
}

export async function checkHealth(redis: Redis, queues: Queues): Promise<Health> {
  const started = performance.now();
  try {
    await redis.ping();
  } catch (error) {
    return { status: "degraded", redis: { ok: false, error: (error as Error).message }, queues: {} };
  }
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;
  const entries = await Promise.all(
    (["events", "effects", "timers"] as const).map(async (name) => [name, await queues[name].getJobCounts("waiting", "active", "delayed", "failed")] as const),
  );
  return { status: "ok", redis: { ok: true, latencyMs }, queues: Object.fromEntries(entries) };
}

/** `GET /healthz`: 200 with Redis and queue status, 503 when Redis does not answer. */
export function healthzHandler(redis: Redis, queues: Queues) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/healthz") return false;
    const health = await Promise.race([
      checkHealth(redis, queues),
      new Promise<Health>((resolve) => setTimeout(() => resolve({ status: "degraded", redis: { ok: false, error: "timed out after 2s" }, queues: {} }), 2_000).unref()),
    ]);
    res.writeHead(health.status === "ok" ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(health));
    return true;
  };
}
