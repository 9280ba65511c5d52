import { zonedParts } from "./template.js";

// Instants people type (`backfill nightly 2026-11-01 2026-11-07T12:00`), read in a time zone. Pure.

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Milliseconds the zone is ahead of UTC at `ms`. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone);
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute));
  return asUtc - Math.floor(ms / 60_000) * 60_000;
}

/** The instant a wall-clock time in the zone names (the earlier one when a DST change repeats it). */
export function zonedTime(year: number, month: number, day: number, hour: number, minute: number, second: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second);
  let instant = guess - zoneOffsetMs(guess, timeZone);
  instant = guess - zoneOffsetMs(instant, timeZone);
  return instant;
}

/**
 * `2026-11-01` (the whole day: its start for `from`, its end for `to`), `2026-11-01T09:00` (wall
 * clock in the zone) or a full ISO 8601 instant with offset. Null when it is none of these.
 */
export function parseWhen(value: string, timeZone: string, edge: "start" | "end"): number | null {
  const date = DATE.exec(value);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (edge === "start") return zonedTime(y, m, d, 0, 0, 0, timeZone);
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    return zonedTime(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, 0, timeZone) - 1;
  }
  const local = LOCAL.exec(value);
  if (local) return zonedTime(Number(local[1]), Number(local[2]), Number(local[3]), Number(local[4]), Number(local[5]), Number(local[6] ?? 0), timeZone);
  if (/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}
