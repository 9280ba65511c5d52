import { describe, expect, it } from "vitest";
import { busyTasks, decideOverlap, planTick } from "../../../src/schedules/policy.js";
import { dueTimesBetween } from "../../../src/schedules/timing.js";

// An injected clock: the "worker" looks at a tick at `now`, however far that is from the due time.
const HOUR = 3_600_000;
const hourly = { every: "1h", timezone: "UTC" };
const T = Date.parse("2026-11-22T10:00:00Z");

function tick(policy: "skip" | "run-once" | "catch-up", lastDue: number, scheduledFor: number, now: number, windowMs = 24 * HOUR) {
  const { times, truncated } = dueTimesBetween(hourly, lastDue, now);
  return planTick({ scheduledFor, now, due: times, truncated, policy, windowMs });
}

describe("the misfire policy", () => {
  it("fires a tick that is on time, whatever the policy", () => {
    for (const policy of ["skip", "run-once", "catch-up"] as const) {
      expect(tick(policy, T - HOUR, T, T + 150)).toEqual({ kind: "fire", fire: [T], missed: [], missedUnlisted: 0, late: false });
    }
  });

  describe("a worker down across several due times (10:00 … 13:00, back at 13:20)", () => {
    const now = T + 3 * HOUR + 20 * 60_000;
    it("skip: fires none of them and logs four misses", () => {
      expect(tick("skip", T - HOUR, T, now)).toEqual({ kind: "fire", fire: [], missed: [T, T + HOUR, T + 2 * HOUR, T + 3 * HOUR], missedUnlisted: 0, late: true });
    });
    it("run-once: fires once, for the latest due time", () => {
      expect(tick("run-once", T - HOUR, T, now)).toMatchObject({ fire: [T + 3 * HOUR], missed: [T, T + HOUR, T + 2 * HOUR], late: true });
    });
    it("catch-up: fires each one inside the window, oldest first", () => {
      expect(tick("catch-up", T - HOUR, T, now)).toMatchObject({ fire: [T, T + HOUR, T + 2 * HOUR, T + 3 * HOUR], missed: [] });
      expect(tick("catch-up", T - HOUR, T, now, 2 * HOUR)).toMatchObject({ fire: [T + 2 * HOUR, T + 3 * HOUR], missed: [T, T + HOUR] });
    });
    it("catch-up fires at most 20 per tick, the newest", () => {
      const later = T + 30 * HOUR + 60_000;
      const plan = tick("catch-up", T - HOUR, T, later, 48 * HOUR);
      expect(plan).toMatchObject({ kind: "fire", late: true });
      if (plan.kind !== "fire") throw new Error("unreachable");
      expect(plan.fire).toHaveLength(20);
      expect(plan.fire.at(-1)).toBe(T + 30 * HOUR);
      expect(plan.missed).toHaveLength(11);
    });
  });

  it("skip still fires the current due time when the worker came back within its grace", () => {
    const now = T + 3 * HOUR + 10_000;
    expect(tick("skip", T - HOUR, T, now)).toMatchObject({ fire: [T + 3 * HOUR], missed: [T, T + HOUR, T + 2 * HOUR] });
  });

  it("a clock that jumped forward is a misfire like any other", () => {
    // The clock jumps 5 h ahead: the 10:00 tick is seen at 15:00 (wall clock).
    expect(tick("run-once", T - HOUR, T, T + 5 * HOUR)).toMatchObject({ fire: [T + 5 * HOUR], late: true });
  });

  it("a clock that jumped back makes the tick wait until its due time", () => {
    expect(tick("run-once", T - HOUR, T, T - 10 * 60_000)).toEqual({ kind: "wait", until: T });
    // Within a second is on time: clocks of two machines differ a little.
    expect(tick("run-once", T - HOUR, T, T - 500).kind).toBe("fire");
  });

  it("a tick whose due time was already handled fires nothing", () => {
    expect(tick("catch-up", T, T, T + 1_000)).toEqual({ kind: "fire", fire: [], missed: [], missedUnlisted: 0, late: false });
  });

  it("counts misses beyond the listed ones", () => {
    expect(planTick({ scheduledFor: T, now: T, due: [T], truncated: 7, policy: "skip", windowMs: HOUR })).toMatchObject({ fire: [T], missedUnlisted: 7, late: true });
  });
});

describe("the overlap policy", () => {
  const base = { busy: 2, buffered: null, firing: "k2" };
  it("fires when nothing runs, or when overlap is allowed", () => {
    expect(decideOverlap({ ...base, busy: 0, policy: "skip" })).toEqual({ kind: "fire" });
    expect(decideOverlap({ ...base, policy: "allow" })).toEqual({ kind: "fire" });
  });
  it("skip: skips while the previous tasks run", () => {
    expect(decideOverlap({ ...base, policy: "skip" })).toEqual({ kind: "skip", reason: "2 tasks of the previous firing still running (overlap: skip)" });
  });
  it("buffer-one: keeps one firing waiting and drops any other", () => {
    expect(decideOverlap({ ...base, policy: "buffer-one" }).kind).toBe("wait");
    expect(decideOverlap({ ...base, policy: "buffer-one", buffered: "k2" }).kind).toBe("wait");
    expect(decideOverlap({ ...base, policy: "buffer-one", buffered: "k1" })).toMatchObject({ kind: "drop" });
  });
  it("counts a task as running while its run lives, or briefly before its run appears", () => {
    const now = T;
    const tasks = [
      { state: "active", spawnedAt: now - 10 * HOUR },
      { state: "needs-human", spawnedAt: now - 10 * HOUR },
      { state: "done", spawnedAt: now - HOUR },
      { state: null, spawnedAt: now - 60_000 },
      { state: null, spawnedAt: now - 2 * HOUR },
    ];
    expect(busyTasks(tasks, now, ["done", "cancelled", "failed"])).toBe(3);
  });
});
