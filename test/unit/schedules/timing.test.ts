import { getNextMillis } from "bullmq";
import { describe, expect, it } from "vitest";
import { dueTimesBetween, firingKey, jitterFor, nextFireTimes, repeatOptionsOf } from "../../../src/schedules/timing.js";
import { formatInZone, isoWeek, renderTemplate, templateValues } from "../../../src/schedules/template.js";
import { parseWhen } from "../../../src/schedules/when.js";

const iso = (ms: number) => new Date(ms).toISOString();
const berlin = { cron: "0 9 * * 1", timezone: "Europe/Berlin" };

describe("next fire times", () => {
  it("reads a cron in the schedule's time zone, across a DST change", () => {
    const times = nextFireTimes(berlin, Date.parse("2026-03-20T00:00:00Z"), 3).map(iso);
    expect(times).toEqual(["2026-03-23T08:00:00.000Z", "2026-03-30T07:00:00.000Z", "2026-04-06T07:00:00.000Z"]);
  });

  it("agrees with BullMQ's own next-time computation for crons", () => {
    for (const cron of ["0 9 * * 1", "*/15 * * * *", "30 2 1 * *"]) {
      let at = Date.parse("2026-10-20T12:34:56Z");
      for (let i = 0; i < 10; i++) {
        const ours = nextFireTimes({ cron, timezone: "America/New_York" }, at)[0]!;
        expect(ours).toBe(getNextMillis(at, { pattern: cron, tz: "America/New_York" }));
        at = ours;
      }
    }
  });

  it("puts `every` at multiples of the period since the epoch, as BullMQ's startDate does", () => {
    const now = Date.parse("2026-01-01T10:17:00Z");
    expect(nextFireTimes({ every: "6h", timezone: "UTC" }, now, 2).map(iso)).toEqual(["2026-01-01T12:00:00.000Z", "2026-01-01T18:00:00.000Z"]);
    expect(repeatOptionsOf({ every: "6h", timezone: "UTC" }, now)).toEqual({ every: 6 * 3_600_000, startDate: Date.parse("2026-01-01T12:00:00Z") });
    expect(repeatOptionsOf(berlin, now)).toEqual({ pattern: "0 9 * * 1", tz: "Europe/Berlin" });
  });
});

describe("due times in a range", () => {
  it("excludes the start and includes the end", () => {
    const { times } = dueTimesBetween({ every: "1h", timezone: "UTC" }, Date.parse("2026-01-01T10:00:00Z"), Date.parse("2026-01-01T13:00:00Z"));
    expect(times.map(iso)).toEqual(["2026-01-01T11:00:00.000Z", "2026-01-01T12:00:00.000Z", "2026-01-01T13:00:00.000Z"]);
    const cron = dueTimesBetween(berlin, Date.parse("2026-03-23T08:00:00Z"), Date.parse("2026-04-06T07:00:00Z"));
    expect(cron.times.map(iso)).toEqual(["2026-03-30T07:00:00.000Z", "2026-04-06T07:00:00.000Z"]);
  });

  it("keeps the newest ones when there are too many, and counts the rest", () => {
    const every = dueTimesBetween({ every: "1h", timezone: "UTC" }, 0, 10 * 3_600_000, 3);
    expect(every).toEqual({ times: [8, 9, 10].map((h) => h * 3_600_000), truncated: 7 });
    const cron = dueTimesBetween({ cron: "0 * * * *", timezone: "UTC" }, 0, 10 * 3_600_000, 3);
    expect(cron).toEqual(every);
  });
});

describe("jitter and firing keys", () => {
  it("spreads firings over [0, jitter), the same on every retry", () => {
    const values = Array.from({ length: 200 }, (_, i) => jitterFor(firingKey(1, "s", i * 1000), 30_000));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(30_000);
    expect(new Set(values).size).toBeGreaterThan(150);
    expect(jitterFor("1-s-5", 30_000)).toBe(jitterFor("1-s-5", 30_000));
    expect(jitterFor("1-s-5", 0)).toBe(0);
    expect(firingKey(501, "nightly", 1_700_000_000_000)).toBe("501-nightly-1700000000000");
  });
});

describe("templates and times people type", () => {
  it("fills the date, week and summary in the schedule's time zone", () => {
    const values = templateValues({ scheduleId: "deps", repo: "acme/widgets", scheduledFor: Date.parse("2026-11-22T23:30:00Z"), timeZone: "Europe/Berlin", summary: "S" });
    expect(renderTemplate("Deps {{date}} {{time}} (week {{week}}) {{ schedule }} {{repo}} {{unknown}}\n{{summary}}", values)).toBe("Deps 2026-11-23 00:30 (week 48) deps acme/widgets {{unknown}}\nS");
    expect(formatInZone(Date.parse("2026-11-23T08:00:00Z"), "Europe/Berlin")).toBe("2026-11-23 09:00 GMT+1");
    expect(isoWeek(Date.parse("2027-01-01T12:00:00Z"), "UTC")).toBe(53);
  });

  it("reads dates as whole days and wall-clock times in the zone", () => {
    expect(iso(parseWhen("2026-11-01", "Europe/Berlin", "start")!)).toBe("2026-10-31T23:00:00.000Z");
    expect(iso(parseWhen("2026-11-01", "Europe/Berlin", "end")!)).toBe("2026-11-01T22:59:59.999Z");
    expect(iso(parseWhen("2026-07-01T09:30", "Europe/Berlin", "start")!)).toBe("2026-07-01T07:30:00.000Z");
    expect(iso(parseWhen("2026-07-01T09:30:00Z", "Europe/Berlin", "start")!)).toBe("2026-07-01T09:30:00.000Z");
    expect(parseWhen("yesterday", "UTC", "start")).toBeNull();
  });
});
