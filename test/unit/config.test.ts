// RepoConfig (.github/conveyor.yml): defaults, strictness, durations and error lines.
import { describe, expect, it } from "vitest";
import { ANGLES, DEFAULT_CONFIG, RepoConfig, describeConfigErrors, durationMs } from "../../src/pipeline/config.js";

/** describeConfigErrors for an input the schema must refuse. */
function errorsOf(input: unknown): string[] {
  const result = RepoConfig.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused, got ${JSON.stringify(result.data)}`);
  return describeConfigErrors(result.error);
}

const EXPECTED_DEFAULTS = {
  label: "conveyor",
  commandPrefix: "/conveyor",
  implement: { workflow: "conveyor-implement.yml", timeout: "2h" },
  review: { angles: ["architecture", "security", "quality", "techstack"], blockOn: "blocker", advisory: [], onAngleFailure: "ignore", timeout: "30m", models: {}, layers: [] },
  ci: { required: [], timeout: "2h" },
  approval: { required: 1, remindEvery: "1d", expireAfter: "7d", from: { users: [], teams: [], codeowners: false }, separationOfDuties: false, expiredLabel: "conveyor:expired" },
  merge: { method: "squash" },
  limits: { maxFixRounds: 3, tokenBudget: 200_000 },
  schedules: [],
  cleanup: { enabled: false, runs: ["cancelled"], after: "3d", closePullRequest: true, deleteBranch: true, removeLabel: true },
};

describe("RepoConfig defaults", () => {
  it("an empty object is a complete configuration", () => {
    expect(RepoConfig.parse({})).toEqual(EXPECTED_DEFAULTS);
  });

  it("DEFAULT_CONFIG is the empty configuration", () => {
    expect(DEFAULT_CONFIG).toEqual(EXPECTED_DEFAULTS);
  });

  it("implement.ref has no default (the repository's default branch is used)", () => {
    expect(RepoConfig.parse({}).implement).not.toHaveProperty("ref");
    expect(RepoConfig.parse({ implement: { ref: "develop" } }).implement.ref).toBe("develop");
  });

  it("an empty section gets that section's defaults", () => {
    expect(RepoConfig.parse({ review: {}, limits: {} })).toEqual(EXPECTED_DEFAULTS);
  });

  it("a partial section keeps its other defaults", () => {
    const config = RepoConfig.parse({ review: { blockOn: "major" }, approval: { required: 2 } });
    expect(config.review).toEqual({ ...EXPECTED_DEFAULTS.review, blockOn: "major" });
    expect(config.approval).toEqual({ ...EXPECTED_DEFAULTS.approval, required: 2 });
    expect(config.merge).toEqual(EXPECTED_DEFAULTS.merge);
  });

  it("the default angles are a fresh copy of every angle", () => {
    const one = RepoConfig.parse({});
    one.review.angles.pop();
    expect(RepoConfig.parse({}).review.angles).toEqual([...ANGLES]);
    expect(ANGLES).toEqual(["architecture", "security", "quality", "techstack"]);
  });

  it("accepts a fully specified configuration unchanged", () => {
    const full = {
      label: "ship-it",
      commandPrefix: "/ship-it",
      implement: { workflow: "agent.yaml", ref: "main", timeout: "90m" },
      review: { angles: ["security"], blockOn: "nit", advisory: ["quality"], onAngleFailure: "block", timeout: "45s", models: { security: "anthropic:claude-sonnet-4-5", quality: "none" }, layers: [{ from: "src/pipeline/**", mayNotImport: ["src/app/**"], because: "the core stays pure" }] },
      ci: { required: ["build", "test"], timeout: "1h" },
      approval: { required: 0, remindEvery: "12h", expireAfter: "30d", from: { users: ["alice"], teams: ["octo/reviewers"], codeowners: true }, separationOfDuties: true, expiredLabel: "stale" },
      merge: { method: "manual" },
      limits: { maxFixRounds: 0, tokenBudget: 0 },
      schedules: [{ id: "weekly", cron: "0 9 * * 1", timezone: "Europe/Berlin", jitter: "5m", enabled: true, misfire: { policy: "catch-up", window: "2d" }, overlap: "buffer-one", openIssue: { title: "Weekly {{date}}", body: "{{summary}}", labels: ["chore"] } }],
      cleanup: { enabled: true, runs: ["cancelled", "expired"], after: "1d", closePullRequest: false, deleteBranch: true, removeLabel: false },
    };
    expect(RepoConfig.parse(full)).toEqual(full);
  });
});

describe("RepoConfig strictness", () => {
  it("refuses an unknown top-level key, naming it", () => {
    expect(errorsOf({ lable: "conveyor" })).toEqual(['(top level): Unrecognized key: "lable"']);
  });

  it("refuses an unknown key in a section, with the section's path", () => {
    const result = RepoConfig.safeParse({ review: { blokOn: "major" } });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([expect.objectContaining({ code: "unrecognized_keys", path: ["review"], keys: ["blokOn"] })]);
    expect(errorsOf({ review: { blokOn: "major" } })).toEqual(['review: Unrecognized key: "blokOn"']);
  });

  it.each(["implement", "review", "ci", "approval", "merge", "limits"])("the %s section is strict too", (section) => {
    expect(errorsOf({ [section]: { surprise: true } })).toEqual([`${section}: Unrecognized key: "surprise"`]);
  });

  it.each([
    ["review.blockOn", { review: { blockOn: "critical" } }, /^review\.blockOn: Invalid option: expected one of "nit"\|"minor"\|"major"\|"blocker"$/],
    ["merge.method", { merge: { method: "fast-forward" } }, /^merge\.method: Invalid option/],
    ["review.onAngleFailure", { review: { onAngleFailure: "retry" } }, /^review\.onAngleFailure: Invalid option/],
    ["review.angles.1", { review: { angles: ["security", "style"] } }, /^review\.angles\.1: Invalid option/],
    ["review.advisory.0", { review: { advisory: ["style"] } }, /^review\.advisory\.0: Invalid option/],
    ["review.angles (empty)", { review: { angles: [] } }, /^review\.angles: Too small/],
    ["label (empty)", { label: "" }, /^label: Too small/],
    ["label (51 chars)", { label: "x".repeat(51) }, /^label: Too big/],
    ["commandPrefix without a slash", { commandPrefix: "conveyor" }, /^commandPrefix: a slash word such as "\/conveyor"$/],
    ["commandPrefix with upper case", { commandPrefix: "/Conveyor" }, /^commandPrefix: /],
    ["commandPrefix with a space", { commandPrefix: "/con veyor" }, /^commandPrefix: /],
    ["implement.workflow not yaml", { implement: { workflow: "agent.sh" } }, /^implement\.workflow: a workflow file name/],
    ["implement.workflow with a path", { implement: { workflow: "../agent.yml" } }, /^implement\.workflow: /],
    ["approval.required too high", { approval: { required: 11 } }, /^approval\.required: Too big/],
    ["approval.required negative", { approval: { required: -1 } }, /^approval\.required: Too small/],
    ["limits.maxFixRounds fractional", { limits: { maxFixRounds: 1.5 } }, /^limits\.maxFixRounds: /],
    ["limits.maxFixRounds too high", { limits: { maxFixRounds: 21 } }, /^limits\.maxFixRounds: Too big/],
    ["limits.tokenBudget a string", { limits: { tokenBudget: "100k" } }, /^limits\.tokenBudget: Invalid input/],
    ["ci.required with an empty name", { ci: { required: ["build", ""] } }, /^ci\.required\.1: Too small/],
  ])("refuses a bad %s, naming the field", (_what, input, line) => {
    const errors = errorsOf(input);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(line);
  });

  it.each(["30", "30 m", "30min", "1.5h", "-1h", "h", "30M", "2w", " 30m", ""])("refuses the duration %j", (timeout) => {
    expect(errorsOf({ review: { timeout } })).toEqual(['review.timeout: a duration such as "30m", "6h" or "7d"']);
  });

  it.each([
    ["implement.timeout", { implement: { timeout: "soon" } }],
    ["ci.timeout", { ci: { timeout: "soon" } }],
    ["approval.remindEvery", { approval: { remindEvery: "soon" } }],
    ["approval.expireAfter", { approval: { expireAfter: "soon" } }],
  ])("every duration field is checked: %s", (path, input) => {
    expect(errorsOf(input)).toEqual([`${path}: a duration such as "30m", "6h" or "7d"`]);
  });

  it.each([null, "label: conveyor", 42, []])("a document that is not a mapping (%j) is refused at the top level", (input) => {
    const errors = errorsOf(input);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\(top level\): Invalid input: expected object/);
  });
});

describe("describeConfigErrors", () => {
  it("gives one line per problem, each naming its field", () => {
    const errors = errorsOf({ typo: 1, review: { blockOn: "huge", timeout: "forever" }, approval: { required: 99 } });
    expect(errors).toHaveLength(4);
    expect(errors).toEqual(
      expect.arrayContaining([
        '(top level): Unrecognized key: "typo"',
        expect.stringMatching(/^review\.blockOn: Invalid option: expected one of /),
        'review.timeout: a duration such as "30m", "6h" or "7d"',
        expect.stringMatching(/^approval\.required: Too big/),
      ]),
    );
  });
});

describe("durationMs", () => {
  it.each([
    ["250ms", 250],
    ["0s", 0],
    ["1s", 1_000],
    ["45s", 45_000],
    ["1m", 60_000],
    ["30m", 1_800_000],
    ["1h", 3_600_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["7d", 604_800_000],
    ["007m", 420_000],
  ])("%s → %i ms", (value, ms) => {
    expect(durationMs(value)).toBe(ms);
  });

  it("1m is not read as 1ms (the longer unit wins)", () => {
    expect(durationMs("1ms")).toBe(1);
    expect(durationMs("1m")).toBe(60_000);
  });

  it.each(["", "30", "m", "30 m", "1.5h", "-1h", "30M", "2w", " 30m", "30m ", "30mm", "abc"])("throws on %j, quoting it", (value) => {
    expect(() => durationMs(value)).toThrow(`config: "${value}" is not a duration such as "30m"`);
  });

  it("agrees with every default duration", () => {
    expect(durationMs(DEFAULT_CONFIG.implement.timeout)).toBe(2 * 3_600_000);
    expect(durationMs(DEFAULT_CONFIG.review.timeout)).toBe(30 * 60_000);
    expect(durationMs(DEFAULT_CONFIG.approval.remindEvery)).toBe(86_400_000);
    expect(durationMs(DEFAULT_CONFIG.approval.expireAfter)).toBe(7 * 86_400_000);
  });
});
