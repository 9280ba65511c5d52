import { describe, expect, it } from "vitest";
import { CleanupConfig, planCleanup } from "../../../src/schedules/cleanup.js";
import type { Run } from "../../../src/pipeline/run.js";

const DAY = 86_400_000;
const stopped = Date.parse("2026-11-01T00:00:00Z");
const run = (over: Partial<Run>): Run =>
  ({
    id: "501-7-1",
    label: "conveyor",
    state: "cancelled",
    issue: { number: 7, title: "t" },
    pr: { number: 12, branch: "conveyor/7-fix", headSha: "abc" },
    reason: { what: "label removed by @maria", next: "" },
    updatedAt: new Date(stopped).toISOString(),
    ...over,
  }) as Run;

describe("clean-up of a run", () => {
  const on = CleanupConfig.parse({ enabled: true });

  it("does nothing unless the repository turned it on", () => {
    expect(planCleanup(run({}), undefined, stopped + 30 * DAY)).toEqual({ clean: false, why: "clean-up is off for this repository" });
  });

  it("waits the configured time after the run stopped", () => {
    expect(planCleanup(run({}), on, stopped + DAY)).toMatchObject({ clean: false });
    expect(planCleanup(run({}), on, stopped + 3 * DAY)).toEqual({
      clean: true,
      reason: "cancelled",
      steps: [
        { kind: "close-pr", pr: 12, comment: expect.stringMatching(/run `501-7-1` was cancelled/) },
        { kind: "delete-branch", branch: "conveyor/7-fix" },
        { kind: "remove-label", issue: 7, label: "conveyor" },
      ],
    });
  });

  it("cleans up expired runs only when asked, and never touches branches it did not make", () => {
    const expired = run({ state: "needs-human", reason: { what: "approval wait expired after 7d", next: "" }, pr: { number: 12, branch: "feature/x", headSha: "a" } });
    expect(planCleanup(expired, on, stopped + 9 * DAY)).toMatchObject({ clean: false, why: "expired runs are not cleaned up here" });
    const both = CleanupConfig.parse({ enabled: true, runs: ["cancelled", "expired"], removeLabel: false });
    expect(planCleanup(expired, both, stopped + 9 * DAY)).toMatchObject({ clean: true, reason: "expired", steps: [{ kind: "close-pr", pr: 12 }] });
    expect(planCleanup(run({ state: "needs-human", reason: { what: "red CI", next: "" } }), both, stopped + 9 * DAY)).toMatchObject({ clean: false });
    expect(planCleanup(run({ state: "done" }), both, stopped + 9 * DAY)).toMatchObject({ clean: false });
  });
});
