import { describe, expect, it } from "vitest";
import { RepoConfig, describeConfigErrors } from "../../../src/pipeline/config.js";
import { Schedule, describeScheduleProblems, misfireOf, validateSchedules } from "../../../src/schedules/schema.js";

const nightly = { id: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin", openIssue: { title: "Nightly triage {{date}}" } };

describe("a schedule", () => {
  it("gets defaults for everything but its id, timing and action", () => {
    expect(Schedule.parse(nightly)).toEqual({
      ...nightly,
      jitter: "0s",
      enabled: true,
      misfire: "run-once",
      overlap: "skip",
      openIssue: { title: "Nightly triage {{date}}", body: "{{summary}}", labels: [] },
    });
  });

  it("reads misfire as a policy or as a policy with a catch-up window", () => {
    expect(misfireOf(Schedule.parse({ ...nightly, misfire: "skip" }))).toEqual({ policy: "skip", windowMs: 86_400_000 });
    expect(misfireOf(Schedule.parse({ ...nightly, misfire: { policy: "catch-up", window: "6h" } }))).toEqual({ policy: "catch-up", windowMs: 6 * 3_600_000 });
  });

  it.each([
    [{ ...nightly, cron: "0 3 * *" }, /cron: invalid cron "0 3 \* \*": expected 5 fields/],
    [{ ...nightly, cron: "0 25 * * *" }, /cron: invalid cron "0 25 \* \* \*"/],
    [{ ...nightly, timezone: "Mars/Olympus" }, /timezone: unknown time zone "Mars\/Olympus"/],
    [{ ...nightly, cron: undefined, every: "1m" }, /every: every 1m is below the minimum period of 5m/],
    [{ ...nightly, cron: "* * * * *" }, /cron: cron "\* \* \* \* \*" fires every 1m, below the minimum period of 5m|is below the minimum period of 5m/],
    [{ ...nightly, every: "1h" }, /give exactly one of cron or every/],
    [{ id: "x", every: "1h" }, /give exactly one action: openIssue or labelIssues/],
    [{ ...nightly, jitter: "2d" }, /jitter: jitter 2d must be shorter than the period \(1d\)/],
    [{ ...nightly, openIssue: { title: "{{weather}} report" } }, /unknown placeholder \{\{weather\}\}/],
    [{ ...nightly, id: "has:colon" }, /id: letters, digits/],
    [{ ...nightly, misfire: "sometimes" }, /misfire/],
  ])("refuses %j with a message naming the field", (input, message) => {
    const result = Schedule.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("\n")).toMatch(message);
  });

  it("accepts a cron with seconds when the floor allows it", () => {
    expect(validateSchedules([{ ...nightly, cron: "*/10 * * * * *" }], { minPeriodMs: 1_000 }).problems).toEqual([]);
    expect(validateSchedules([{ ...nightly, cron: "*/10 * * * * *" }]).problems[0]!.messages[0]).toMatch(/fires every 10s.*minimum period of 5m/);
  });
});

describe("validating the schedules section", () => {
  it("registers the valid schedules and names each invalid one with its problem", () => {
    const raw = [
      nightly,
      { id: "bad-cron", cron: "every monday", openIssue: { title: "x" } },
      { id: "bad-zone", cron: "0 9 * * 1", timezone: "Europe/Atlantis", openIssue: { title: "x" } },
      { id: "too-often", every: "30s", labelIssues: { query: "label:bug" } },
      { id: "twice", every: "1h", openIssue: { title: "a" } },
      { id: "twice", every: "2h", openIssue: { title: "b" } },
      { id: "triage", every: "6h", labelIssues: { query: "no:label", limit: 5 } },
    ];
    const { schedules, problems } = validateSchedules(raw);
    expect(schedules.map((s) => s.id)).toEqual(["nightly", "triage"]);
    const lines = describeScheduleProblems(problems);
    expect(lines).toEqual([
      expect.stringMatching(/^schedule "bad-cron" \(schedules\[1\]\): cron: invalid cron "every monday"/),
      'schedule "bad-zone" (schedules[2]): timezone: unknown time zone "Europe/Atlantis" (an IANA name such as Europe/Berlin or UTC)',
      'schedule "too-often" (schedules[3]): every: every 30s is below the minimum period of 5m',
      'schedule "twice" (schedules[4]): duplicate id "twice": 2 schedules use it, so none of them is registered',
      'schedule "twice" (schedules[5]): duplicate id "twice": 2 schedules use it, so none of them is registered',
    ]);
  });

  it("names a schedule without an id by its position, and a section that is not a list", () => {
    expect(describeScheduleProblems(validateSchedules([{ every: "1h", openIssue: { title: "x" } }]).problems)[0]).toMatch(/^schedules\[0\]: id: /);
    expect(describeScheduleProblems(validateSchedules({ nightly }).problems)).toEqual(["schedules: must be a list of schedules"]);
    expect(validateSchedules(undefined)).toEqual({ schedules: [], problems: [] });
  });

  it("is part of .github/conveyor.yml, whose errors point at the schedule's field", () => {
    expect(RepoConfig.parse({}).schedules).toEqual([]);
    expect(RepoConfig.parse({}).cleanup).toMatchObject({ enabled: false, runs: ["cancelled"] });
    const result = RepoConfig.safeParse({ schedules: [nightly, { ...nightly, timezone: "Nowhere/Land" }] });
    expect(result.success).toBe(false);
    expect(describeConfigErrors(result.error!)).toEqual(expect.arrayContaining([expect.stringMatching(/^schedules\.1\.timezone: unknown time zone "Nowhere\/Land"/), expect.stringMatching(/^schedules: duplicate schedule id "nightly"/)]));
  });
});
