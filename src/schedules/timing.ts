import { createHash } from "node:crypto";
import { CronExpressionParser } from "cron-parser";
import { scheduleDurationMs, type Schedule } from "./schema.js";

// When a schedule is due. Pure: every function takes the instant it reasons from. The results
// agree with BullMQ's job schedulers, which compute cron times with the same cron-parser and
// `every` times as multiples of the period (Conveyor anchors them at the Unix epoch).

export type Timing = Pick<Schedule, "cron" | "every" | "timezone">;

/** How a schedule is handed to `upsertJobScheduler`, given the instant of registration. */
export function repeatOptionsOf(timing: Timing, now: number): { pattern: string; tz: string } | { every: number; startDate: number } {
  if (timing.cron !== undefined) return { pattern: timing.cron, tz: timing.timezone };
  const every = scheduleDurationMs(timing.every!);
  return { every, startDate: nextMultiple(now, every) };
}

function nextMultiple(afterMs: number, every: number): number {
  return Math.floor(afterMs / every) * every + every;
}

/** The next `count` due times strictly after `afterMs`. */
export function nextFireTimes(timing: Timing, afterMs: number, count = 1): number[] {
  const times: number[] = [];
  if (timing.every !== undefined) {
    const every = scheduleDurationMs(timing.every);
    let next = nextMultiple(afterMs, every);
    for (let i = 0; i < count; i++, next += every) times.push(next);
    return times;
  }
  const expression = CronExpressionParser.parse(timing.cron!, { tz: timing.timezone, currentDate: new Date(afterMs) });
  for (let i = 0; i < count && expression.hasNext(); i++) times.push(expression.next().getTime());
  return times;
}

/** Due times in `(fromExclusive, toInclusive]`, oldest first; with more than `limit`, the newest `limit`. */
export function dueTimesBetween(timing: Timing, fromExclusive: number, toInclusive: number, limit = 1000): { times: number[]; truncated: number } {
  if (toInclusive <= fromExclusive) return { times: [], truncated: 0 };
  if (timing.every !== undefined) {
    const every = scheduleDurationMs(timing.every);
    const first = nextMultiple(fromExclusive, every);
    const last = Math.floor(toInclusive / every) * every;
    if (last < first) return { times: [], truncated: 0 };
    const total = (last - first) / every + 1;
    const kept = Math.min(total, limit);
    return { times: Array.from({ length: kept }, (_, i) => last - (kept - 1 - i) * every), truncated: total - kept };
  }
  // Walk back from the end: the newest times are the ones kept when there are too many.
  const expression = CronExpressionParser.parse(timing.cron!, { tz: timing.timezone, currentDate: new Date(toInclusive + 1) });
  const times: number[] = [];
  let truncated = 0;
  while (expression.hasPrev()) {
    const time = expression.prev().getTime();
    if (time <= fromExclusive) break;
    if (times.length < limit) times.push(time);
    else if (++truncated > 100_000) break;
  }
  return { times: times.reverse(), truncated };
}

/** A firing's jitter: spread over [0, jitter), the same on every retry and every instance. */
export function jitterFor(firingKey: string, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const hash = createHash("sha256").update(firingKey).digest();
  return hash.readUInt32BE(0) % jitterMs;
}

/** `<repoId>-<scheduleId>-<scheduledFor ms>`: one firing, whoever fires it and however often. */
export function firingKey(repoId: number, scheduleId: string, scheduledFor: number): string {
  return `${repoId}-${scheduleId}-${scheduledFor}`;
}
