import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Octokit } from "../effects/octokit.js";

/** One row of `GET /app/hook/deliveries` (only the fields read). */
interface DeliverySummary {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status_code: number;
  event: string;
  action?: string | null;
}

export interface ReconcileOptions {
  /** Pages of 100 deliveries read per pass at most. */
  maxPages?: number;
  /** Redeliveries asked for per pass at most. */
  maxRedeliveries?: number;
  /** Only deliveries this recent are considered (GitHub keeps 3 days). */
  windowMs?: number;
  now?: () => number;
}

export interface ReconcileResult {
  listed: number;
  failed: number;
  redelivered: { id: number; guid: string; event: string }[];
  alreadyAsked: number;
  /** GitHub answered 422 (too old, or being redelivered): not asked again. */
  refused: number;
  /** Failed deliveries left for the next pass (over the per-pass bound). */
  deferred: number;
}

const ASKED_TTL_MS = 4 * 86_400_000;

/**
 * GitHub does not redeliver failed webhooks by itself. This lists the app's recent deliveries
 * (JWT auth), and for each delivery guid that never got a 2xx and that this app has not asked
 * for already, asks GitHub to deliver it again. Bounded per pass; a redelivery that reaches us
 * is deduplicated by ingress like any other.
 */
export async function reconcileDeliveries(appOctokit: Octokit, redis: Redis, askedKey: string, log: Logger, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const now = (options.now ?? Date.now)();
  const windowMs = options.windowMs ?? 24 * 3_600_000;
  const maxPages = options.maxPages ?? 5;
  const maxRedeliveries = options.maxRedeliveries ?? 20;
  const deliveries: DeliverySummary[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const response = await appOctokit.request("GET /app/hook/deliveries", { per_page: 100, ...(cursor ? { cursor } : {}) });
    const rows = response.data as unknown as DeliverySummary[];
    deliveries.push(...rows);
    cursor = nextCursor(String(response.headers.link ?? ""));
    const oldest = rows.at(-1);
    if (!cursor || !oldest || now - Date.parse(oldest.delivered_at) > windowMs) break;
  }

  const byGuid = new Map<string, DeliverySummary[]>();
  for (const delivery of deliveries) {
    if (now - Date.parse(delivery.delivered_at) > windowMs) continue;
    byGuid.set(delivery.guid, [...(byGuid.get(delivery.guid) ?? []), delivery]);
  }
  const failed = [...byGuid.values()]
    .filter((attempts) => !attempts.some((attempt) => attempt.status_code >= 200 && attempt.status_code < 300))
    .map((attempts) => attempts.sort((a, b) => Date.parse(b.delivered_at) - Date.parse(a.delivered_at))[0]!)
    .sort((a, b) => Date.parse(a.delivered_at) - Date.parse(b.delivered_at));

  await redis.zremrangebyscore(askedKey, "-inf", String(now - ASKED_TTL_MS));
  const result: ReconcileResult = { listed: deliveries.length, failed: failed.length, redelivered: [], alreadyAsked: 0, refused: 0, deferred: 0 };
  for (const delivery of failed) {
    if ((await redis.zscore(askedKey, delivery.guid)) !== null) {
      result.alreadyAsked++;
      continue;
    }
    // The bound counts requests made, refused ones included.
    if (result.redelivered.length + result.refused >= maxRedeliveries) {
      result.deferred++;
      continue;
    }
    let refused = false;
    try {
      await appOctokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: delivery.id });
    } catch (error) {
      // 422: GitHub will not redeliver it (too old, or already being redelivered): do not ask again.
      if ((error as { status?: number }).status !== 422) throw error;
      refused = true;
      log.warn({ deliveryId: delivery.id, guid: delivery.guid }, `reconciler: GitHub refused to redeliver ${delivery.event} ${delivery.guid}`);
    }
    await redis.zadd(askedKey, String(now), delivery.guid);
    if (refused) result.refused++;
    else result.redelivered.push({ id: delivery.id, guid: delivery.guid, event: delivery.action ? `${delivery.event}.${delivery.action}` : delivery.event });
  }
  if (result.redelivered.length || result.deferred) log.info({ ...result, redelivered: result.redelivered.map((d) => d.guid) }, `reconciler: asked GitHub to redeliver ${result.redelivered.length} failed webhook deliveries`);
  return result;
}

/** The `cursor` of the `rel="next"` link, if any. */
export function nextCursor(link: string): string | undefined {
  for (const part of link.split(",")) {
    const match = /<([^>]+)>;\s*rel="next"/.exec(part);
    if (match) return new URL(match[1]!).searchParams.get("cursor") ?? undefined;
  }
  return undefined;
}
