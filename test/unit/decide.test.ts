import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, RepoConfig } from "../../src/pipeline/config.js";
import { decide, type Decision } from "../../src/pipeline/decide.js";
import { assignEffectIds } from "../../src/pipeline/effect-id.js";
import { Effect, type EffectKind, type EffectOf } from "../../src/pipeline/effects.js";
import { PipelineEvent, type EventType, type Permission } from "../../src/pipeline/events.js";
import { Run, type AngleOutcome, type RunState, type Stage } from "../../src/pipeline/run.js";

// ---------------------------------------------------------------------------------------------
// Fixtures: one run per stage and state, events with sensible defaults, all validated by zod.
// ---------------------------------------------------------------------------------------------

const T_CREATE = "2024-05-01T09:00:00.000Z";
const T_START = "2024-05-01T10:00:00.000Z"; // stageStartedAt of every fixture run
const AT = "2024-05-01T12:00:00.000Z"; // the time of every event unless told
const REPO = { id: 42, owner: "acme", name: "widgets", installationId: 7 };
const ISSUE = { number: 7, title: "Add a widget" };
const SHA = `1111111${"a".repeat(33)}`;
const SHA2 = `2222222${"b".repeat(33)}`;
const PR = { number: 12, branch: "conveyor/7-add-a-widget", headSha: SHA };
const PR_STAGES: Stage[] = ["review", "ci", "approval", "merge", "close"];

const later = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();
const HOUR = 3_600_000;
const cfg = (input: Record<string, unknown> = {}) => RepoConfig.parse(input);

function makeRun(stage: Stage, over: Partial<Run> = {}): Run {
  const started = stage !== "intake";
  return Run.parse({
    id: "42-7-1",
    generation: 1,
    version: 5,
    repo: REPO,
    issue: ISSUE,
    startedBy: "alice",
    label: "conveyor",
    stage,
    state: "active",
    round: 0,
    config: started ? DEFAULT_CONFIG : null,
    pr: PR_STAGES.includes(stage) ? PR : null,
    workflowRunId: started ? 900 : null,
    reviews: [],
    ci: null,
    approvals: [],
    feedback: null,
    rounds: started ? [{ round: 0, reason: "initial", summary: "first implementation", startedAt: T_START }] : [],
    tokens: 0,
    deferred: [],
    reason: null,
    createdAt: T_CREATE,
    updatedAt: T_START,
    stageStartedAt: T_START,
    ...over,
  });
}

const parked = (stage: Stage, over: Partial<Run> = {}) =>
  makeRun(stage, { state: "needs-human", reason: { what: "something broke", next: "retry" }, ...over });
const paused = (stage: Stage, over: Partial<Run> = {}) => makeRun(stage, { state: "paused", ...over });
/** A run in fix round `round`, with the round records that got it there. */
const inRound = (stage: Stage, round: number, over: Partial<Run> = {}) =>
  makeRun(stage, {
    round,
    rounds: Array.from({ length: round + 1 }, (_, n) =>
      n === 0
        ? { round: 0, reason: "initial" as const, summary: "first implementation", startedAt: T_START }
        : { round: n, reason: "review" as const, summary: `blocking findings ${n}`, startedAt: T_START },
    ),
    ...over,
  });

const outcome = (angle: AngleOutcome["angle"], blocking = 0, status: AngleOutcome["status"] = "ok"): AngleOutcome => ({
  angle,
  status,
  blocking,
  total: blocking + 2,
  ...(status === "failed" ? { error: "model unavailable" } : {}),
});
const CLEAN = [outcome("architecture"), outcome("security"), outcome("quality"), outcome("techstack")];

const reviewSubject = (state: "approved" | "changes_requested" | "commented", sha = SHA, reviewId = 501, body = "Please rename the flag") => ({
  kind: "review" as const,
  reviewId,
  state,
  sha,
  body,
  comments: ["src/flag.ts:3: rename `x` to `enabled`"],
});
const command = (name: string, args: string[] = [], text = `/conveyor ${[name, ...args].join(" ")}`) => ({ name, args, commentId: 77, text });
const commandSubject = (name: string, args: string[] = []) => ({ kind: "command" as const, command: command(name, args) });

const parse = (input: Record<string, unknown>): PipelineEvent => PipelineEvent.parse({ at: AT, ...input });
const ev = {
  labeled: (label = "conveyor", at = AT) => parse({ type: "issue.labeled", at, label, actor: "alice", repo: REPO, issue: ISSUE }),
  unlabeled: (label = "conveyor") => parse({ type: "issue.unlabeled", label, actor: "bob" }),
  issueClosed: (isBot = false) => parse({ type: "issue.closed", actor: isBot ? "conveyor[bot]" : "bob", isBot }),
  configLoaded: (config: RepoConfig = DEFAULT_CONFIG, at = AT) => parse({ type: "config.loaded", at, config }),
  configInvalid: (errors = ["review.blockOn: Invalid option", "merge.method: Invalid option"]) => parse({ type: "config.invalid", errors }),
  dispatched: (round = 0, workflowRunId = 901, at = AT) => parse({ type: "implement.dispatched", at, round, workflowRunId }),
  implFinished: (outcome: string, o: { round?: number; workflowRunId?: number; detail?: string; at?: string } = {}) =>
    parse({ type: "implement.finished", round: 0, workflowRunId: 900, outcome, ...o }),
  implCompleted: (conclusion: string, o: { workflowRunId?: number; runName?: string; at?: string } = {}) =>
    parse({ type: "implement.completed", workflowRunId: 900, runName: "conveyor 42-7-1 round 0", conclusion, url: "https://github.com/acme/widgets/actions/runs/900", ...o }),
  ciReported: (sha = SHA, check = "test (20)", at = AT) => parse({ type: "ci.reported", at, sha, check }),
  prOpened: (round = 0, headSha = SHA, at = AT) => parse({ type: "pr.opened", at, round, pr: { ...PR, headSha } }),
  pushed: (headSha = SHA2, at = AT) => parse({ type: "pr.pushed", at, headSha, actor: "bob" }),
  prClosed: (merged: boolean, at = AT) => parse({ type: "pr.closed", at, merged, actor: "bob" }),
  reviewFinished: (o: { round?: number; sha?: string; outcomes?: AngleOutcome[]; blocking?: string[]; tokens?: number; at?: string } = {}) =>
    parse({ type: "review.finished", round: 0, sha: SHA, outcomes: CLEAN, blocking: [], tokens: 1000, ...o }),
  ciFinished: (conclusion: "success" | "failure", o: { sha?: string; failing?: string[]; at?: string } = {}) =>
    parse({ type: "ci.finished", sha: SHA, failing: conclusion === "failure" ? ["lint", "test (20)"] : [], conclusion, ...o }),
  reviewSubmitted: (state: "approved" | "changes_requested" | "commented", o: { isBot?: boolean; login?: string; sha?: string; at?: string } = {}) =>
    parse({ type: "review.submitted", login: o.login ?? "carol", isBot: o.isBot ?? false, review: reviewSubject(state, o.sha), ...(o.at ? { at: o.at } : {}) }),
  reviewDismissed: (reviewId: number) => parse({ type: "review.dismissed", reviewId }),
  command: (name: string, args: string[] = [], o: { isBot?: boolean; login?: string; text?: string; at?: string } = {}) =>
    parse({ type: "command.received", login: o.login ?? "carol", isBot: o.isBot ?? false, command: command(name, args, o.text), ...(o.at ? { at: o.at } : {}) }),
  operator: (command: string, args: string[] = [], at = AT) => parse({ type: "operator.command", at, operator: "ops", command, args }),
  permission: (permission: Permission, subject: unknown, o: { login?: string; at?: string } = {}) =>
    parse({ type: "permission.checked", login: o.login ?? "carol", permission, subject, ...(o.at ? { at: o.at } : {}) }),
  mergeFinished: (outcome: string, detail = "", at = AT) => parse({ type: "merge.finished", at, outcome, detail }),
  closeFinished: (at = AT) => parse({ type: "close.finished", at }),
  timer: (timer: string, stage: Stage, o: { round?: number; stageStartedAt?: string; at?: string } = {}) =>
    parse({ type: "timer.fired", timer, stage, round: 0, stageStartedAt: T_START, ...o }),
  effectFailed: (effectId: string, kind: string, error: string, next?: string) =>
    parse({ type: "effect.failed", effectId, kind, error, ...(next ? { next } : {}) }),
};
/** permission.checked for a command, as the check-permission effect answers it. */
const authorized = (name: string, args: string[] = [], permission: Permission = "write", at = AT) =>
  ev.permission(permission, commandSubject(name, args), { at });

/** One event of every type, for the tables that apply to all of them. */
const SAMPLES: PipelineEvent[] = [
  ev.labeled(),
  ev.operator("pause"),
  ev.implCompleted("success"),
  ev.ciReported(),
  ev.unlabeled(),
  ev.issueClosed(),
  ev.configLoaded(),
  ev.configInvalid(),
  ev.dispatched(),
  ev.implFinished("changed"),
  ev.prOpened(),
  ev.pushed(),
  ev.prClosed(true),
  ev.reviewFinished(),
  ev.ciFinished("success"),
  ev.reviewSubmitted("approved"),
  ev.reviewDismissed(501),
  ev.command("pause"),
  authorized("pause"),
  ev.mergeFinished("merged"),
  ev.closeFinished(),
  ev.timer("deadline", "implement"),
  ev.effectFailed("42-7-1_review_r0_v5_start-review", "start-review", "HTTP 502"),
];

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function effect<K extends EffectKind>(decision: Decision, kind: K, occurrence = 1): EffectOf<K> {
  const found = decision.effects.filter((e): e is EffectOf<K> => e.kind === kind)[occurrence - 1];
  if (!found) throw new Error(`no ${kind} effect #${occurrence} in ${decision.effects.map((e) => e.kind).join(", ")}`);
  return found;
}

function applied(decision: Decision): Run {
  expect(decision.applied, decision.reason).toBe(true);
  if (!decision.run) throw new Error("applied decision without a run");
  return decision.run;
}

// ---------------------------------------------------------------------------------------------
// Table rows
// ---------------------------------------------------------------------------------------------

interface Expected {
  applied: boolean;
  reason?: string;
  stage?: Stage;
  state?: RunState;
  round?: number;
  effects?: EffectKind[];
}
interface Row {
  name: string;
  run: Run | null;
  event: PipelineEvent;
  expect: Expected;
  check?: (decision: Decision, run: Run) => void;
}

const ok = (name: string, run: Run | null, event: PipelineEvent, expected: Omit<Expected, "applied">, check?: Row["check"]): Row => ({
  name,
  run,
  event,
  expect: { applied: true, ...expected },
  check,
});
const no = (name: string, run: Run | null, event: PipelineEvent, reason: string): Row => ({ name, run, event, expect: { applied: false, reason } });

const FIX: EffectKind[] = ["post-status", "dispatch-implement", "set-timer"];
const REVIEW: EffectKind[] = ["post-status", "start-review", "set-timer"];
const APPROVAL: EffectKind[] = ["post-status", "set-timer"];
const MERGE: EffectKind[] = ["post-status", "merge-pr"];
const CLOSE: EffectKind[] = ["close-issue", "post-status"];

const labeledRows: Row[] = [
  ok("labeled, no run: starts generation 1 in intake", null, ev.labeled(), { stage: "intake", state: "active", round: 0, effects: ["load-config"], reason: "started run 42-7-1" }, (_d, run) => {
    expect(run).toMatchObject({ id: "42-7-1", generation: 1, version: 1, label: "conveyor", startedBy: "alice", config: null, pr: null });
    expect(run).toMatchObject({ createdAt: AT, updatedAt: AT, stageStartedAt: AT, rounds: [], deferred: [], tokens: 0 });
  }),
  ok("labeled after a done run: generation 2", makeRun("close", { state: "done" }), ev.labeled(), { stage: "intake", effects: ["load-config"] }, (_d, run) => {
    expect(run).toMatchObject({ id: "42-7-2", generation: 2, version: 1, pr: null, approvals: [] });
  }),
  ok("labeled after a cancelled run", makeRun("review", { state: "cancelled" }), ev.labeled(), { stage: "intake", state: "active" }),
  ok("labeled after a failed run", makeRun("intake", { state: "failed" }), ev.labeled(), { stage: "intake", state: "active" }),
  no("labeled while a run is active", makeRun("implement"), ev.labeled(), "already has an active run 42-7-1"),
  no("labeled while a run is paused", paused("review"), ev.labeled(), "already has an active run 42-7-1 (paused)"),
  no("labeled while a run needs a human", parked("ci"), ev.labeled(), "already has an active run"),
];

const intakeRows: Row[] = [
  ok("config.loaded: intake → implement", makeRun("intake"), ev.configLoaded(), { stage: "implement", state: "active", round: 0, effects: FIX, reason: "intake → implement" }, (d, run) => {
    expect(run.config).toEqual(DEFAULT_CONFIG);
    expect(run.rounds).toEqual([{ round: 0, reason: "initial", summary: "first implementation", startedAt: AT }]);
    expect(effect(d, "dispatch-implement")).toMatchObject({ round: 0, feedback: null });
    expect(effect(d, "set-timer")).toMatchObject({ timer: "deadline", stage: "implement", round: 0, stageStartedAt: AT, fireAt: later(AT, 2 * HOUR) });
  }),
  ok("config.loaded: deadline from implement.timeout", makeRun("intake"), ev.configLoaded(cfg({ implement: { timeout: "45m" } })), { stage: "implement" }, (d) => {
    expect(effect(d, "set-timer").fireAt).toBe("2024-05-01T12:45:00.000Z");
  }),
  ok("config.loaded with another trigger label: cancelled silently", makeRun("intake"), ev.configLoaded(cfg({ label: "ship-it" })), { stage: "intake", state: "cancelled", effects: [] }, (_d, run) => {
    expect(run.reason?.what).toBe("label conveyor is not the trigger label ship-it");
  }),
  no("config.loaded after intake", makeRun("implement"), ev.configLoaded(), "stage is implement, not intake"),
  no("config.loaded on a parked intake", parked("intake"), ev.configLoaded(), "run is needs-human"),
  ok("config.invalid: fails with every error listed", makeRun("intake"), ev.configInvalid(), { stage: "intake", state: "failed", effects: ["comment", "post-status"] }, (d, run) => {
    const body = effect(d, "comment").body;
    expect(body).toContain("- review.blockOn: Invalid option");
    expect(body).toContain("- merge.method: Invalid option");
    expect(run.reason).toEqual({ what: "invalid .github/conveyor.yml", next: "fix the fields listed and add the label again, or comment /conveyor retry" });
  }),
  no("config.invalid after intake", makeRun("implement"), ev.configInvalid(), "stage is implement, not intake"),
];

const implementRows: Row[] = [
  ok("implement.dispatched records the workflow run", makeRun("implement", { workflowRunId: null }), ev.dispatched(0, 901), { stage: "implement", effects: ["post-status"] }, (_d, run) => {
    expect(run.workflowRunId).toBe(901);
  }),
  no("implement.dispatched twice", makeRun("implement", { workflowRunId: 901 }), ev.dispatched(0, 901), "workflow run 901 is already recorded"),
  no("implement.dispatched for another workflow run", makeRun("implement"), ev.dispatched(0, 901), "round 0 already runs workflow run 900, not 901"),
  no("implement.dispatched for an old round", inRound("implement", 1, { workflowRunId: null }), ev.dispatched(0, 901), "stale event for implement round 0 (run is in round 1)"),
  no("implement.dispatched outside implement", makeRun("review"), ev.dispatched(0, 901), "stage is review, not implement"),
  ok("implement.completed success: read the branch", makeRun("implement"), ev.implCompleted("success"), { stage: "implement", state: "active", effects: ["inspect-implement"] }, (d) => {
    expect(effect(d, "inspect-implement")).toMatchObject({ round: 0, workflowRunId: 900 });
  }),
  ok("implement.completed before the dispatch was recorded, matched by run name", makeRun("implement", { workflowRunId: null }), ev.implCompleted("success", { workflowRunId: 977 }), { effects: ["inspect-implement"] }, (_d, run) => {
    expect(run.workflowRunId).toBe(977);
  }),
  ok("implement.completed failure parks with the link", makeRun("implement"), ev.implCompleted("failure"), { state: "needs-human", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason?.what).toBe("the implementer workflow ended failure in round 0 (https://github.com/acme/widgets/actions/runs/900)");
  }),
  ok("implement.completed cancelled parks", makeRun("implement"), ev.implCompleted("cancelled"), { state: "needs-human" }),
  no("implement.completed of an unrelated workflow run", makeRun("implement"), ev.implCompleted("success", { workflowRunId: 555, runName: "CI" }), "unrelated workflow run 555"),
  no("implement.completed of an old round's re-run", inRound("implement", 1, { workflowRunId: 901 }), ev.implCompleted("success", { workflowRunId: 900 }), "unrelated workflow run 900"),
  no("implement.completed named for another round before the dispatch was recorded", inRound("implement", 1, { workflowRunId: null }), ev.implCompleted("success", { runName: "conveyor 42-7-1 round 0" }), "unrelated workflow run 900"),
  no("implement.completed outside implement", makeRun("review"), ev.implCompleted("success"), "the run is in review"),
  ok("implement.finished changed: open the PR", makeRun("implement"), ev.implFinished("changed"), { stage: "implement", state: "active", effects: ["open-pr"] }, (d) => {
    expect(effect(d, "open-pr").round).toBe(0);
  }),
  ok("implement.finished before the dispatch was recorded", makeRun("implement", { workflowRunId: null }), ev.implFinished("changed"), { effects: ["open-pr"] }, (_d, run) => {
    expect(run.workflowRunId).toBe(900);
  }),
  ok("implement.finished no-changes parks", makeRun("implement"), ev.implFinished("no-changes"), { stage: "implement", state: "needs-human", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason).toEqual({ what: "the agent made no changes in round 0", next: "/conveyor fix <instructions> or /conveyor retry" });
  }),
  ok("implement.finished failed parks with the detail", makeRun("implement"), ev.implFinished("failed", { detail: "agent exited with code 1" }), { state: "needs-human", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason?.what).toBe("the implementer failed in round 0: agent exited with code 1");
  }),
  no("implement.finished from an unrelated workflow run", makeRun("implement"), ev.implFinished("changed", { workflowRunId: 999 }), "unrelated workflow run 999 (round 0 runs 900)"),
  no("implement.finished for an old round", inRound("implement", 1), ev.implFinished("changed"), "stale event for implement round 0"),
  no("implement.finished on a parked run", parked("implement"), ev.implFinished("changed"), "run is needs-human"),
  ok("pr.opened: implement → review of all angles", makeRun("implement"), ev.prOpened(), { stage: "review", state: "active", effects: REVIEW, reason: "implement → review of 1111111" }, (d, run) => {
    expect(run.pr).toEqual(PR);
    expect(effect(d, "start-review")).toMatchObject({ round: 0, sha: SHA, angles: ["architecture", "security", "quality", "techstack"] });
    expect(effect(d, "set-timer")).toMatchObject({ timer: "deadline", stage: "review", stageStartedAt: AT, fireAt: later(AT, HOUR / 2) });
  }),
  ok("pr.opened reviews the configured angles", makeRun("implement", { config: cfg({ review: { angles: ["security"] } }) }), ev.prOpened(), { stage: "review" }, (d) => {
    expect(effect(d, "start-review").angles).toEqual(["security"]);
  }),
  ok("pr.opened in a fix round reviews the new head", inRound("implement", 1, { pr: PR }), ev.prOpened(1, SHA2), { stage: "review", round: 1, effects: REVIEW }, (d, run) => {
    expect(run.pr?.headSha).toBe(SHA2);
    expect(effect(d, "start-review")).toMatchObject({ round: 1, sha: SHA2 });
  }),
  no("pr.opened for an old round", inRound("implement", 1), ev.prOpened(0), "stale event for implement round 0"),
  no("pr.opened twice", makeRun("review"), ev.prOpened(), "stage is review, not implement"),
];

const blockingRun = (over: Partial<Run> = {}) => makeRun("review", over);
const reviewRows: Row[] = [
  ok("review.finished clean: review → ci", makeRun("review"), ev.reviewFinished(), { stage: "ci", effects: ["post-status", "evaluate-ci", "set-timer"], reason: "review → ci" }, (d, run) => {
    expect(effect(d, "evaluate-ci").sha).toBe(SHA);
    expect(run.reviews).toEqual(CLEAN);
    expect(run.tokens).toBe(1000);
    expect(effect(d, "set-timer")).toMatchObject({ timer: "deadline", stage: "ci", fireAt: later(AT, 2 * HOUR) });
  }),
  ok(
    "review.finished with blocking findings: fix round 1",
    blockingRun(),
    ev.reviewFinished({ outcomes: [outcome("architecture"), outcome("security", 2), outcome("quality"), outcome("techstack")], blocking: ["sql injection in a.ts:3", "secret in b.ts:9"] }),
    { stage: "implement", state: "active", round: 1, effects: FIX, reason: "review → implement, fix round 1 (review)" },
    (d, run) => {
      const feedback = { source: "review", summary: "2 blocking findings in the review of 1111111", items: ["sql injection in a.ts:3", "secret in b.ts:9"] };
      expect(run.feedback).toEqual(feedback);
      expect(effect(d, "dispatch-implement")).toMatchObject({ round: 1, feedback });
      expect(run.rounds.at(-1)).toEqual({ round: 1, reason: "review", summary: feedback.summary, startedAt: AT });
      expect(run).toMatchObject({ reviews: [], ci: null, workflowRunId: null, stageStartedAt: AT, tokens: 1000 });
      expect(effect(d, "set-timer")).toMatchObject({ stage: "implement", round: 1 });
    },
  ),
  ok(
    "review.finished: advisory angles never block",
    blockingRun({ config: cfg({ review: { advisory: ["security"] } }) }),
    ev.reviewFinished({ outcomes: [outcome("security", 3), outcome("quality")], blocking: ["x"] }),
    { stage: "ci" },
  ),
  ok(
    "review.finished: a failed angle blocks when onAngleFailure is block",
    blockingRun({ config: cfg({ review: { onAngleFailure: "block" } }) }),
    ev.reviewFinished({ outcomes: [outcome("security", 0, "failed"), outcome("quality")] }),
    { stage: "implement", round: 1, effects: FIX },
    (_d, run) => expect(run.feedback?.summary).toBe("1 blocking finding in the review of 1111111"),
  ),
  ok("review.finished: a failed angle is ignored by default", blockingRun(), ev.reviewFinished({ outcomes: [outcome("security", 0, "failed")] }), { stage: "ci" }),
  ok(
    "review.finished: a failed advisory angle does not block",
    blockingRun({ config: cfg({ review: { onAngleFailure: "block", advisory: ["security"] } }) }),
    ev.reviewFinished({ outcomes: [outcome("security", 0, "failed")] }),
    { stage: "ci" },
  ),
  ok("review.finished with green CI already known: → approval", blockingRun({ ci: { sha: SHA, conclusion: "success", failing: [] } }), ev.reviewFinished(), { stage: "approval", effects: APPROVAL, reason: "review → approval (0 of 1 approvals)" }),
  ok(
    "review.finished with green CI and no approval required: → merge",
    blockingRun({ ci: { sha: SHA, conclusion: "success", failing: [] }, config: cfg({ approval: { required: 0 } }) }),
    ev.reviewFinished(),
    { stage: "merge", effects: MERGE },
    (d) => expect(effect(d, "merge-pr")).toMatchObject({ sha: SHA, method: "squash" }),
  ),
  ok(
    "review.finished with green CI and a valid approval: → merge",
    blockingRun({ ci: { sha: SHA, conclusion: "success", failing: [] }, approvals: [{ login: "dave", sha: SHA, reviewId: 400 }] }),
    ev.reviewFinished(),
    { stage: "merge", effects: MERGE },
  ),
  ok(
    "review.finished with red CI already known: fix round",
    blockingRun({ ci: { sha: SHA, conclusion: "failure", failing: ["lint"] } }),
    ev.reviewFinished(),
    { stage: "implement", round: 1, effects: FIX },
    (_d, run) => expect(run.feedback).toEqual({ source: "ci", summary: "CI failed on 1111111: lint", items: ["lint"] }),
  ),
  ok("review.finished with CI known for another sha: waits in ci", blockingRun({ ci: { sha: SHA2, conclusion: "success", failing: [] } }), ev.reviewFinished(), { stage: "ci", effects: ["post-status", "evaluate-ci", "set-timer"] }),
  ok("review.finished over the token budget parks", blockingRun({ tokens: 199_500 }), ev.reviewFinished(), { stage: "review", state: "needs-human", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason?.what).toBe("token budget exceeded: 200500 of 200000");
    expect(run.tokens).toBe(200_500);
  }),
  ok("review.finished exactly at the token budget goes on", blockingRun({ tokens: 199_000 }), ev.reviewFinished(), { stage: "ci", state: "active" }),
  ok(
    "review.finished at the fix round cap parks with a summary",
    inRound("review", 3, { pr: PR }),
    ev.reviewFinished({ round: 3, outcomes: [outcome("security", 1)], blocking: ["secret in b.ts:9"] }),
    { stage: "review", state: "needs-human", round: 3, effects: ["comment", "post-status"] },
    (d, run) => {
      expect(run.reason?.what).toBe("fix round cap reached (3 rounds)");
      expect(run.reason?.next).toContain("/conveyor retry review");
      const body = effect(d, "comment").body;
      for (const line of ["round 0 (initial): first implementation", "round 1 (review)", "round 3 (review)", "secret in b.ts:9", "1 blocking finding"]) expect(body).toContain(line);
    },
  ),
  ok("review.finished with maxFixRounds 0 parks at once", blockingRun({ config: cfg({ limits: { maxFixRounds: 0 } }) }), ev.reviewFinished({ outcomes: [outcome("quality", 1)] }), {
    state: "needs-human",
    effects: ["comment", "post-status"],
    reason: "fix round cap reached (0 rounds)",
  }),
  no("review.finished for an old head", makeRun("review"), ev.reviewFinished({ sha: SHA2 }), "stale review of 2222222 (head is 1111111)"),
  no("review.finished for an old round", inRound("review", 1, { pr: PR }), ev.reviewFinished({ round: 0 }), "stale event for review round 0 (run is in round 1)"),
  no("review.finished after review", makeRun("ci"), ev.reviewFinished(), "stage is ci, not review"),
  no("review.finished on a parked run", parked("review"), ev.reviewFinished(), "run is needs-human"),
];

const ciRows: Row[] = [
  ok("ci.reported on the head while waiting in ci: read CI", makeRun("ci"), ev.ciReported(), { stage: "ci", effects: ["evaluate-ci"] }, (d) => {
    expect(effect(d, "evaluate-ci").sha).toBe(SHA);
  }),
  no("ci.reported on another sha", makeRun("ci"), ev.ciReported(SHA2), "not the head"),
  no("ci.reported while reviewing", makeRun("review"), ev.ciReported(), "while the run is active in review"),
  no("ci.reported without a PR", makeRun("implement", { pr: null }), ev.ciReported(), "the run has no pull request"),
  ok("ci.finished success: ci → approval", makeRun("ci"), ev.ciFinished("success"), { stage: "approval", effects: APPROVAL, reason: "ci → approval (0 of 1 approvals)" }, (d, run) => {
    expect(run.ci).toEqual({ sha: SHA, conclusion: "success", failing: [] });
    // One timer at a time: the first reminder comes before the expiry.
    expect(effect(d, "set-timer")).toMatchObject({ timer: "reminder", stage: "approval", stageStartedAt: AT, fireAt: later(AT, 24 * HOUR) });
  }),
  ok("ci.finished success with reminders no sooner than the expiry: approval arms the expiry alone", makeRun("ci", { config: cfg({ approval: { remindEvery: "7d", expireAfter: "2d" } }) }), ev.ciFinished("success"), { stage: "approval", effects: APPROVAL }, (d) => {
    expect(effect(d, "set-timer")).toMatchObject({ timer: "expiry", stage: "approval", stageStartedAt: AT, fireAt: later(AT, 48 * HOUR) });
  }),
  ok("ci.finished success with an approval already given: → merge", makeRun("ci", { approvals: [{ login: "dave", sha: SHA, reviewId: 400 }] }), ev.ciFinished("success"), { stage: "merge", effects: MERGE }),
  ok("ci.finished success: an approval of an older sha does not count", makeRun("ci", { approvals: [{ login: "dave", sha: SHA2, reviewId: 400 }] }), ev.ciFinished("success"), { stage: "approval", effects: APPROVAL }),
  ok("ci.finished success, manual merge, no approvals needed: waits for a human", makeRun("ci", { config: cfg({ approval: { required: 0 }, merge: { method: "manual" } }) }), ev.ciFinished("success"), {
    stage: "merge",
    effects: ["post-status"],
    reason: "manual",
  }),
  ok("ci.finished failure: fix round with the failing checks", makeRun("ci"), ev.ciFinished("failure"), { stage: "implement", round: 1, effects: FIX, reason: "ci → implement, fix round 1 (ci)" }, (d, run) => {
    const feedback = { source: "ci", summary: "CI failed on 1111111: lint, test (20)", items: ["lint", "test (20)"] };
    expect(run.feedback).toEqual(feedback);
    expect(effect(d, "dispatch-implement").feedback).toEqual(feedback);
    expect(run.ci).toBeNull();
  }),
  ok("ci.finished failure at the cap parks", inRound("ci", 3, { pr: PR }), ev.ciFinished("failure"), { stage: "ci", state: "needs-human", effects: ["comment", "post-status"], reason: "fix round cap reached" }),
  ok("ci.finished during review is only recorded", makeRun("review"), ev.ciFinished("success"), { stage: "review", state: "active", effects: [], reason: "recorded CI success" }, (_d, run) => {
    expect(run.ci).toEqual({ sha: SHA, conclusion: "success", failing: [] });
  }),
  ok("ci.finished red during approval is only recorded", makeRun("approval"), ev.ciFinished("failure"), { stage: "approval", effects: [] }),
  ok("ci.finished on a parked run is recorded", parked("ci"), ev.ciFinished("success"), { stage: "ci", state: "needs-human", effects: [] }),
  no("ci.finished for an old head", makeRun("ci"), ev.ciFinished("success", { sha: SHA2 }), "stale CI result for 2222222 (head is 1111111)"),
  no("ci.finished before there is a PR", makeRun("implement"), ev.ciFinished("success"), "the run has no pull request"),
];

const approvalRows: Row[] = [
  ok("approval by a writer: approval → merge", makeRun("approval"), ev.permission("write", reviewSubject("approved")), { stage: "merge", effects: MERGE, reason: "approval → merge (squash)" }, (_d, run) => {
    expect(run.approvals).toEqual([{ login: "carol", sha: SHA, reviewId: 501 }]);
  }),
  ok("approval by a maintainer counts", makeRun("approval"), ev.permission("maintain", reviewSubject("approved")), { stage: "merge" }),
  ok("approval by an admin counts", makeRun("approval"), ev.permission("admin", reviewSubject("approved")), { stage: "merge" }),
  ok("approval 1 of 2: stays in approval", makeRun("approval", { config: cfg({ approval: { required: 2 } }) }), ev.permission("write", reviewSubject("approved")), {
    stage: "approval",
    effects: ["post-status"],
    reason: "approval by @carol recorded (1 of 2)",
  }),
  ok(
    "approval 2 of 2: → merge",
    makeRun("approval", { config: cfg({ approval: { required: 2 } }), approvals: [{ login: "dave", sha: SHA, reviewId: 400 }] }),
    ev.permission("write", reviewSubject("approved")),
    { stage: "merge", effects: MERGE },
  ),
  ok(
    "approval again by the same login replaces the earlier one",
    makeRun("approval", { config: cfg({ approval: { required: 2 } }), approvals: [{ login: "carol", sha: SHA2, reviewId: 400 }] }),
    ev.permission("write", reviewSubject("approved")),
    { stage: "approval", effects: ["post-status"] },
    (_d, run) => expect(run.approvals).toEqual([{ login: "carol", sha: SHA, reviewId: 501 }]),
  ),
  ok("approval with merge method manual waits for a human", makeRun("approval", { config: cfg({ merge: { method: "manual" } }) }), ev.permission("write", reviewSubject("approved")), { stage: "merge", effects: ["post-status"] }),
  ok("approval during ci is recorded", makeRun("ci"), ev.permission("write", reviewSubject("approved")), { stage: "ci", effects: ["post-status"] }, (_d, run) => expect(run.approvals).toHaveLength(1)),
  ok("approval on a parked run is recorded", parked("approval"), ev.permission("write", reviewSubject("approved")), { stage: "approval", state: "needs-human", effects: ["post-status"] }),
  no("approval of an older sha", makeRun("approval"), ev.permission("write", reviewSubject("approved", SHA2)), "stale approval for 2222222 (head is 1111111)"),
  no("approval before there is a PR", makeRun("implement"), ev.permission("write", reviewSubject("approved")), "the run has no pull request"),
  ok("approval without write access: a polite comment", makeRun("approval"), ev.permission("read", reviewSubject("approved")), { stage: "approval", effects: ["comment"], reason: "does not count (permission read)" }, (d, run) => {
    expect(effect(d, "comment").body).toContain("@carol");
    expect(effect(d, "comment").body).toContain("does not count");
    expect(run.approvals).toEqual([]);
  }),
  ok(
    "an approval that the repo's approver rules exclude: a polite comment naming why",
    makeRun("approval"),
    parse({ type: "permission.checked", login: "carol", permission: "write", subject: reviewSubject("approved"), eligible: { ok: false, why: "approvals must come from @octo/reviewers" } }),
    { stage: "approval", state: "active", effects: ["comment"], reason: "does not count: approvals must come from @octo/reviewers" },
    (d, run) => {
      expect(run.approvals).toEqual([]);
      expect(effect(d, "comment").body).toContain("approvals must come from @octo/reviewers");
    },
  ),
  ok(
    "an eligible approval counts",
    makeRun("approval"),
    parse({ type: "permission.checked", login: "carol", permission: "write", subject: reviewSubject("approved"), eligible: { ok: true, why: "code owner (@carol)" } }),
    { stage: "merge", effects: MERGE },
  ),
  ok("approval with triage permission does not count", makeRun("approval"), ev.permission("triage", reviewSubject("approved")), { effects: ["comment"] }),
  ok("changes requested without write access: a polite comment", makeRun("approval"), ev.permission("none", reviewSubject("changes_requested")), { stage: "approval", round: 0, effects: ["comment"] }),
  ok("changes requested during approval: fix round", makeRun("approval"), ev.permission("write", reviewSubject("changes_requested")), { stage: "implement", round: 1, effects: FIX }, (_d, run) => {
    expect(run.feedback).toEqual({ source: "changes-requested", summary: "Please rename the flag", items: ["src/flag.ts:3: rename `x` to `enabled`"] });
  }),
  ok("changes requested during review: fix round", makeRun("review"), ev.permission("write", reviewSubject("changes_requested")), { stage: "implement", round: 1 }),
  ok("changes requested during ci: fix round", makeRun("ci"), ev.permission("write", reviewSubject("changes_requested")), { stage: "implement", round: 1 }),
  ok("changes requested during merge: fix round", makeRun("merge"), ev.permission("write", reviewSubject("changes_requested")), { stage: "implement", round: 1 }),
  ok("changes requested on a parked run: fix round, active again", parked("approval"), ev.permission("write", reviewSubject("changes_requested")), { stage: "implement", state: "active", round: 1 }, (_d, run) => {
    expect(run.reason).toBeNull();
  }),
  ok("changes requested with an empty body", makeRun("approval"), ev.permission("write", reviewSubject("changes_requested", SHA, 501, "  ")), { stage: "implement" }, (_d, run) => {
    expect(run.feedback?.summary).toBe("changes requested by @carol");
  }),
  ok("changes requested at the cap parks", inRound("approval", 3, { pr: PR }), ev.permission("write", reviewSubject("changes_requested")), { state: "needs-human", effects: ["comment", "post-status"] }),
  no("changes requested while a round is implemented", inRound("implement", 1, { pr: PR }), ev.permission("write", reviewSubject("changes_requested")), "nothing to start"),
  no("permission for a comment-only review", makeRun("approval"), ev.permission("write", reviewSubject("commented")), "only commented"),
  ok("review.submitted approved: check the reviewer's permission", makeRun("approval"), ev.reviewSubmitted("approved"), { stage: "approval", effects: ["check-permission"] }, (d) => {
    expect(effect(d, "check-permission")).toMatchObject({ login: "carol", subject: reviewSubject("approved") });
  }),
  ok("review.submitted changes requested: check the permission", makeRun("ci"), ev.reviewSubmitted("changes_requested"), { effects: ["check-permission"] }),
  no("review.submitted by a bot", makeRun("approval"), ev.reviewSubmitted("approved", { isBot: true, login: "conveyor[bot]" }), "bots never approve"),
  no("review.submitted comment only", makeRun("approval"), ev.reviewSubmitted("commented"), "only commented: nothing to do"),
  no("review.submitted before there is a PR", makeRun("implement"), ev.reviewSubmitted("approved"), "the run has no pull request"),
  ok("review.dismissed removes the approval", makeRun("approval", { approvals: [{ login: "carol", sha: SHA, reviewId: 501 }, { login: "dave", sha: SHA, reviewId: 502 }] }), ev.reviewDismissed(501), { effects: ["post-status"] }, (_d, run) => {
    expect(run.approvals).toEqual([{ login: "dave", sha: SHA, reviewId: 502 }]);
  }),
  no("review.dismissed of an unknown review", makeRun("approval"), ev.reviewDismissed(999), "no approval from review 999"),
];

const mergeRows: Row[] = [
  ok("merge.finished merged: merge → close", makeRun("merge"), ev.mergeFinished("merged"), { stage: "close", state: "active", effects: CLOSE, reason: "merge → close" }),
  ok("merge.finished conflict: fix round", makeRun("merge"), ev.mergeFinished("conflict", "src/a.ts"), { stage: "implement", round: 1, effects: FIX }, (_d, run) => {
    expect(run.feedback).toEqual({ source: "merge-conflict", summary: "the PR conflicts with its base branch: src/a.ts", items: ["src/a.ts"] });
  }),
  ok("merge.finished not-mergeable parks", makeRun("merge"), ev.mergeFinished("not-mergeable", "required status check missing"), { stage: "merge", state: "needs-human", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason?.what).toBe("the PR cannot be merged: required status check missing");
  }),
  no("merge.finished outside merge", makeRun("approval"), ev.mergeFinished("merged"), "stage is approval, not merge"),
  ok("close.finished: done", makeRun("close"), ev.closeFinished(), { stage: "close", state: "done", effects: ["post-status"], reason: "close → done" }),
  no("close.finished outside close", makeRun("merge"), ev.closeFinished(), "stage is merge, not close"),
  ok("pr.closed merged by a human: follow to close", makeRun("approval"), ev.prClosed(true), { stage: "close", state: "active", effects: CLOSE }),
  ok("pr.closed merged while paused: close anyway", paused("ci", { deferred: [ev.ciFinished("success")] }), ev.prClosed(true), { stage: "close", state: "active", effects: CLOSE }, (_d, run) => {
    expect(run.deferred).toEqual([]);
  }),
  ok("pr.closed merged while parked: close", parked("merge"), ev.prClosed(true), { stage: "close", state: "active", effects: CLOSE }, (_d, run) => expect(run.reason).toBeNull()),
  no("pr.closed merged after Conveyor's own merge", makeRun("close"), ev.prClosed(true), "already closing"),
  ok("pr.closed without merging: cancelled", makeRun("review"), ev.prClosed(false), { stage: "review", state: "cancelled", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason?.what).toBe("PR closed without merging by @bob");
  }),
  no("pr.closed before there is a PR", makeRun("implement"), ev.prClosed(false), "the run has no pull request"),
];

const pushRows: Row[] = [
  ok(
    "pr.pushed during approval: back to review, approvals kept but stale",
    makeRun("approval", { approvals: [{ login: "carol", sha: SHA, reviewId: 501 }], ci: { sha: SHA, conclusion: "success", failing: [] } }),
    ev.pushed(),
    { stage: "review", state: "active", effects: REVIEW, reason: "pushed by @bob: approval → review of 2222222" },
    (d, run) => {
      expect(run.pr?.headSha).toBe(SHA2);
      expect(run.approvals).toHaveLength(1);
      expect(run.ci).toBeNull();
      expect(effect(d, "start-review")).toMatchObject({ round: 0, sha: SHA2, angles: ["architecture", "security", "quality", "techstack"] });
    },
  ),
  ok("pr.pushed during review: review again", makeRun("review", { reviews: CLEAN }), ev.pushed(), { stage: "review", effects: REVIEW }, (_d, run) => expect(run.reviews).toEqual([])),
  ok("pr.pushed during ci: back to review", makeRun("ci"), ev.pushed(), { stage: "review", effects: REVIEW }),
  ok("pr.pushed during merge: back to review", makeRun("merge"), ev.pushed(), { stage: "review", effects: REVIEW }),
  ok("pr.pushed during implement: only recorded", inRound("implement", 1, { pr: PR }), ev.pushed(), { stage: "implement", effects: [], reason: "recorded push of 2222222" }, (_d, run) => {
    expect(run.pr?.headSha).toBe(SHA2);
  }),
  ok("pr.pushed on a parked run: only recorded", parked("review"), ev.pushed(), { stage: "review", state: "needs-human", effects: [] }),
  no("pr.pushed at the same sha", makeRun("review"), ev.pushed(SHA), "already at 1111111"),
  no("pr.pushed before there is a PR", makeRun("implement"), ev.pushed(), "the run has no pull request"),
];

const commandRows: Row[] = [
  no("a command from a bot", makeRun("review"), ev.command("pause", [], { isBot: true, login: "other[bot]" }), "bots cannot run commands"),
  ok("help lists the commands", makeRun("review"), ev.command("help"), { effects: ["comment"] }, (d) => {
    const body = effect(d, "comment").body;
    for (const name of ["status", "retry", "review", "fix", "pause", "resume", "cancel", "help"]) expect(body).toContain(`/conveyor ${name}`);
  }),
  ok("help uses the configured prefix", makeRun("review", { config: cfg({ commandPrefix: "/cv" }) }), ev.command("help"), { effects: ["comment"] }, (d) => {
    expect(effect(d, "comment").body).toContain("`/cv status`");
  }),
  ok("unknown command: say so, with help", makeRun("review"), ev.command("unknown", [], { text: "/conveyor frob`nicate" }), { effects: ["comment"] }, (d) => {
    const body = effect(d, "comment").body;
    expect(body).toContain("Unknown command `/conveyor frob'nicate`");
    expect(body).toContain("/conveyor retry");
  }),
  ok("status: anyone may ask", makeRun("review"), ev.command("status"), { effects: ["react", "post-status"] }, (d) => {
    expect(effect(d, "react")).toMatchObject({ commentId: 77, content: "+1" });
  }),
  ok("status on a failed run", makeRun("intake", { state: "failed" }), ev.command("status"), { state: "failed", effects: ["react", "post-status"] }),
  ok("pause asks for the permission first", makeRun("review"), ev.command("pause"), { effects: ["check-permission"] }, (d) => {
    expect(effect(d, "check-permission")).toMatchObject({ login: "carol", subject: commandSubject("pause") });
  }),
  ok("retry on a failed run asks for the permission", makeRun("intake", { state: "failed" }), ev.command("retry"), { effects: ["check-permission"] }),
  ok("a command without write access: confused and a polite refusal", makeRun("review"), ev.permission("read", commandSubject("pause")), { state: "active", effects: ["react", "comment"] }, (d) => {
    expect(effect(d, "react").content).toBe("confused");
    expect(effect(d, "comment").body).toContain("`/conveyor pause` needs write access");
  }),
  ok("a command with triage permission is refused", makeRun("review"), ev.permission("triage", commandSubject("cancel")), { state: "active", effects: ["react", "comment"] }),
  ok("status after a permission check", makeRun("review"), authorized("status"), { effects: ["react", "post-status"] }),
  ok("help after a permission check", makeRun("review"), authorized("help"), { effects: ["react", "comment"] }),
  ok("pause: active → paused", makeRun("review"), authorized("pause"), { stage: "review", state: "paused", effects: ["react", "post-status"], reason: "active → paused" }, (d) => {
    expect(effect(d, "react").content).toBe("+1");
  }),
  ok("pause when already paused: a reply saying why", paused("review"), authorized("pause"), { state: "paused", effects: ["react", "comment"], reason: "does not apply: the run is paused, not active" }, (d, run) => {
    expect(effect(d, "react").content).toBe("confused");
    expect(effect(d, "comment").body).toContain("the run is paused, not active");
    expect(run.version).toBe(6);
  }),
  ok("resume: paused → active, the deadline re-armed from now", paused("review"), authorized("resume"), { stage: "review", state: "active", effects: ["react", "post-status", "set-timer"] }, (d, run) => {
    expect(run.stageStartedAt).toBe(AT);
    expect(effect(d, "set-timer")).toMatchObject({ timer: "deadline", stage: "review", stageStartedAt: AT, fireAt: later(AT, HOUR / 2) });
  }),
  ok("resume in approval re-arms its timer: the expiry counts from now", paused("approval", { config: cfg({ approval: { remindEvery: "3d", expireAfter: "1d" } }) }), authorized("resume"), { stage: "approval", state: "active", effects: ["react", "post-status", "set-timer"] }, (d) => {
    expect(effect(d, "set-timer")).toMatchObject({ timer: "expiry", stageStartedAt: AT, fireAt: later(AT, 24 * HOUR) });
  }),
  ok("resume in ci reads CI again (check reports are not held while paused)", paused("ci"), authorized("resume"), { stage: "ci", state: "active", effects: ["react", "post-status", "set-timer", "evaluate-ci"] }, (d) => {
    expect(effect(d, "evaluate-ci").sha).toBe(SHA);
  }),
  no("ci.reported while paused is not held", paused("ci"), ev.ciReported(), "while the run is paused in ci"),
  ok("resume in merge arms no timer", paused("merge"), authorized("resume"), { stage: "merge", state: "active", effects: ["react", "post-status"] }),
  ok(
    "resume applies the deferred events in order",
    paused("implement", { deferred: [ev.implFinished("changed"), ev.prOpened(0, SHA)] }),
    authorized("resume"),
    { stage: "review", state: "active", effects: ["react", "open-pr", "start-review", "post-status", "set-timer"], reason: "replayed 2 deferred" },
    (d, run) => {
      expect(run.deferred).toEqual([]);
      expect(run.pr?.headSha).toBe(SHA);
      expect(run.stageStartedAt).toBe(AT);
      expect(effect(d, "set-timer")).toMatchObject({ stage: "review", stageStartedAt: AT });
    },
  ),
  ok("resume whose deferred merge finished: → close", paused("merge", { deferred: [ev.mergeFinished("merged", "", "2024-05-01T11:00:00.000Z")] }), authorized("resume"), { stage: "close", state: "active", effects: ["react", "close-issue", "post-status"] }, (_d, run) => {
    expect(run.stageStartedAt).toBe(AT);
  }),
  ok("resume drops deferred events that no longer apply", paused("review", { deferred: [ev.reviewFinished({ sha: SHA2 })] }), authorized("resume"), { stage: "review", state: "active", reason: "review.finished dropped: stale review" }),
  ok("resume whose deferred events park the run", paused("implement", { deferred: [ev.implFinished("no-changes")] }), authorized("resume"), { stage: "implement", state: "needs-human", effects: ["react", "post-status"] }),
  ok("resume when not paused: a reply", makeRun("review"), authorized("resume"), { state: "active", effects: ["react", "comment"], reason: "the run is active, not paused" }),
  ok("cancel: cancelled", makeRun("ci"), authorized("cancel"), { stage: "ci", state: "cancelled", effects: ["react", "post-status"] }, (_d, run) => {
    expect(run.reason).toEqual({ what: "cancelled by @carol", next: "add the label conveyor again to start a new run" });
  }),
  ok("cancel while paused", paused("ci"), authorized("cancel"), { state: "cancelled" }),
  ok("cancel a failed run: a reply", makeRun("intake", { state: "failed" }), authorized("cancel"), { state: "failed", effects: ["react", "comment"], reason: "already failed" }),
  ok("retry a parked review: review again", parked("review"), authorized("retry"), { stage: "review", state: "active", effects: ["react", ...REVIEW] }, (d, run) => {
    expect(run.reason).toBeNull();
    expect(effect(d, "start-review")).toMatchObject({ sha: SHA, round: 0 });
  }),
  ok(
    "retry implement: same round, same feedback",
    inRound("review", 1, { pr: PR, state: "needs-human", feedback: { source: "ci", summary: "lint", items: ["lint"] } }),
    authorized("retry", ["implement"]),
    { stage: "implement", state: "active", round: 1, effects: ["react", ...FIX] },
    (d, run) => {
      expect(effect(d, "dispatch-implement")).toMatchObject({ round: 1, feedback: { source: "ci", summary: "lint", items: ["lint"] } });
      expect(run.workflowRunId).toBeNull();
      expect(run.rounds).toHaveLength(2);
    },
  ),
  ok("retry a failed intake: load the config again", makeRun("intake", { state: "failed", reason: { what: "invalid", next: "fix" } }), authorized("retry"), {
    stage: "intake",
    state: "active",
    effects: ["react", "load-config", "post-status"],
  }),
  ok("retry ci: read CI again and wait", parked("ci"), authorized("retry"), { stage: "ci", state: "active", effects: ["react", "post-status", "evaluate-ci", "set-timer"] }),
  ok("retry ci with a known green result: → approval", parked("ci", { ci: { sha: SHA, conclusion: "success", failing: [] } }), authorized("retry"), { stage: "approval", effects: ["react", ...APPROVAL] }),
  ok("retry approval: remind and expire again", parked("approval"), authorized("retry"), { stage: "approval", state: "active", effects: ["react", ...APPROVAL] }),
  ok("retry merge: merge again", parked("merge"), authorized("retry"), { stage: "merge", effects: ["react", ...MERGE] }),
  ok("retry close: close again", parked("close"), authorized("retry"), { stage: "close", state: "active", effects: ["react", ...CLOSE] }),
  ok("retry an unknown stage: a reply", parked("review"), authorized("retry", ["gate"]), { state: "needs-human", effects: ["react", "comment"], reason: '"gate" is not a stage' }),
  ok("retry an active run: a reply", makeRun("review"), authorized("retry"), { state: "active", effects: ["react", "comment"], reason: "retry is for parked or failed runs" }),
  ok("retry a paused run: points at resume", paused("review"), authorized("retry"), { state: "paused", effects: ["react", "comment"], reason: "use /conveyor resume" }),
  ok("retry review before there is a PR: a reply", parked("implement"), authorized("retry", ["review"]), { state: "needs-human", effects: ["react", "comment"], reason: "no pull request yet" }),
  ok("retry implement before the config loaded: a reply", makeRun("intake", { state: "failed" }), authorized("retry", ["implement"]), { state: "failed", effects: ["react", "comment"], reason: "config is not loaded" }),
  ok("review during ci: review all angles again", makeRun("ci"), authorized("review"), { stage: "review", effects: ["react", ...REVIEW] }, (d) => {
    expect(effect(d, "start-review").angles).toEqual(["architecture", "security", "quality", "techstack"]);
  }),
  ok("review of some angles", makeRun("approval"), authorized("review", ["quality", "security"]), { stage: "review", effects: ["react", ...REVIEW] }, (d) => {
    expect(effect(d, "start-review").angles).toEqual(["security", "quality"]);
  }),
  ok("review of an unknown angle: a reply", makeRun("ci"), authorized("review", ["style"]), { stage: "ci", effects: ["react", "comment"], reason: "unknown angle `style`" }),
  ok("review during implement: a reply", makeRun("implement", { pr: PR }), authorized("review"), { stage: "implement", effects: ["react", "comment"] }),
  ok("review before there is a PR: a reply", makeRun("implement"), authorized("review"), { effects: ["react", "comment"], reason: "no pull request" }),
  ok("review while parked: a reply", parked("ci"), authorized("review"), { state: "needs-human", effects: ["react", "comment"] }),
  ok("fix during approval: fix round with the instructions", makeRun("approval"), authorized("fix", ["rename", "the", "flag"]), { stage: "implement", round: 1, effects: ["react", ...FIX] }, (_d, run) => {
    expect(run.feedback).toEqual({ source: "command", summary: "rename the flag", items: [] });
    expect(run.rounds.at(-1)).toMatchObject({ round: 1, reason: "command", summary: "rename the flag" });
  }),
  ok("fix during the first implementation", makeRun("implement"), authorized("fix", ["use", "zod"]), { stage: "implement", round: 1, effects: ["react", ...FIX] }),
  ok("fix on a parked run: active again", parked("implement"), authorized("fix", ["try", "harder"]), { stage: "implement", state: "active", round: 1 }),
  ok("fix at the cap: parks with the summary", inRound("review", 3, { pr: PR }), authorized("fix", ["again"]), { stage: "review", state: "needs-human", effects: ["react", "comment", "post-status"] }),
  ok("fix without instructions: a reply", makeRun("review"), authorized("fix"), { stage: "review", effects: ["react", "comment"], reason: "say what to fix" }),
  ok("fix during intake: a reply", makeRun("intake"), authorized("fix", ["x"]), { stage: "intake", effects: ["react", "comment"], reason: "nothing to fix during intake" }),
  ok("fix while paused: a reply", paused("review"), authorized("fix", ["x"]), { state: "paused", effects: ["react", "comment"] }),
  ok("fix after the merge: a reply", makeRun("close"), authorized("fix", ["x"]), { stage: "close", effects: ["react", "comment"], reason: "merged already" }),
];

const issueRows: Row[] = [
  ok("unlabeled with the trigger label: cancelled", makeRun("review"), ev.unlabeled(), { state: "cancelled", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason?.what).toBe("label removed by @bob");
  }),
  ok("unlabeled while paused: cancelled", paused("implement"), ev.unlabeled(), { state: "cancelled" }),
  no("unlabeled with another label", makeRun("review"), ev.unlabeled("bug"), "label bug is not the trigger label conveyor"),
  ok("issue closed by a human: cancelled", makeRun("approval"), ev.issueClosed(), { state: "cancelled", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason?.what).toBe("issue closed by @bob");
  }),
  ok("issue closed while parked: cancelled", parked("ci"), ev.issueClosed(), { state: "cancelled" }),
  no("issue closed by a bot", makeRun("approval"), ev.issueClosed(true), "closed by a bot"),
  no("issue closed during the close stage", makeRun("close"), ev.issueClosed(), "part of the close stage"),
];

const timerRows: Row[] = [
  ok("implement deadline: parks", makeRun("implement"), ev.timer("deadline", "implement"), { stage: "implement", state: "needs-human", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason).toEqual({ what: "implement timed out after 2h", next: "/conveyor retry to run implement again" });
  }),
  ok("review deadline: parks", makeRun("review"), ev.timer("deadline", "review"), { state: "needs-human", reason: "review timed out after 30m" }),
  ok("ci deadline: parks", makeRun("ci"), ev.timer("deadline", "ci"), { state: "needs-human", reason: "ci timed out after 2h" }),
  ok("approval reminder: a comment and the next reminder", makeRun("approval"), ev.timer("reminder", "approval"), { stage: "approval", state: "active", effects: ["comment", "set-timer"] }, (d, run) => {
    expect(effect(d, "comment").body).toContain("Waiting for approval: 0 of 1");
    expect(effect(d, "set-timer")).toMatchObject({ timer: "reminder", stage: "approval", stageStartedAt: T_START, fireAt: later(AT, 24 * HOUR) });
    expect(run.stageStartedAt).toBe(T_START);
  }),
  ok("approval reminder whose next reminder would come after the expiry: arms the expiry, at the entry's expiry time", makeRun("approval"), ev.timer("reminder", "approval", { at: later(T_START, 6.5 * 24 * HOUR) }), { stage: "approval", state: "active", effects: ["comment", "set-timer"] }, (d) => {
    expect(effect(d, "set-timer")).toMatchObject({ timer: "expiry", stage: "approval", stageStartedAt: T_START, fireAt: later(T_START, 7 * 24 * HOUR) });
  }),
  ok("approval reminder that fired after the expiry time (a worker was down): arms the expiry at once", makeRun("approval"), ev.timer("reminder", "approval", { at: later(T_START, 8 * 24 * HOUR) }), { stage: "approval", effects: ["comment", "set-timer"] }, (d) => {
    expect(effect(d, "set-timer")).toMatchObject({ timer: "expiry", fireAt: later(T_START, 7 * 24 * HOUR) });
  }),
  ok("approval expiry: parks and labels the issue", makeRun("approval"), ev.timer("expiry", "approval"), { stage: "approval", state: "needs-human", effects: ["add-label", "post-status"] }, (d, run) => {
    expect(run.reason?.what).toBe("approval wait expired after 7d");
    expect(effect(d, "add-label").name).toBe("conveyor:expired");
  }),
  no("timer from an earlier stage", makeRun("review"), ev.timer("deadline", "implement"), "stale deadline timer for implement round 0 (stage is now review)"),
  no("timer from an earlier round", inRound("implement", 1), ev.timer("deadline", "implement"), "(round is now 1)"),
  no("timer from an earlier entry of the stage", makeRun("review", { stageStartedAt: AT }), ev.timer("deadline", "review"), "(stage re-entered at 2024-05-01T12:00:00.000Z)"),
  no("timer while paused", paused("implement"), ev.timer("deadline", "implement"), "(run is paused)"),
  no("timer while parked", parked("implement"), ev.timer("deadline", "implement"), "(run is needs-human)"),
  no("a deadline in approval", makeRun("approval"), ev.timer("deadline", "approval"), "approval has no deadline"),
  no("a reminder outside approval", makeRun("review"), ev.timer("reminder", "review"), "review has no reminder timer"),
];

const effectRows: Row[] = [
  ok("effect.failed parks with the error", makeRun("merge"), ev.effectFailed("42-7-1_merge_r0_v5_merge-pr", "merge-pr", "HTTP 405"), { stage: "merge", state: "needs-human", effects: ["post-status"] }, (_d, run) => {
    expect(run.reason).toEqual({ what: "merge-pr failed: HTTP 405", next: "fix the cause, then comment /conveyor retry" });
  }),
  ok("effect.failed with the executor's advice", makeRun("implement"), ev.effectFailed("42-7-1_implement_r0_v5_dispatch-implement", "dispatch-implement", "HTTP 404", "add .github/workflows/conveyor-implement.yml"), { state: "needs-human" }, (_d, run) => {
    expect(run.reason?.next).toBe("add .github/workflows/conveyor-implement.yml");
  }),
  ok("effect.failed with an id of another shape still parks", makeRun("review"), ev.effectFailed("custom-job", "post-status", "boom"), { state: "needs-human" }),
  ok("effect.failed on a parked run updates the reason", parked("review"), ev.effectFailed("42-7-1_review_r0_v5_start-review", "start-review", "HTTP 500"), { state: "needs-human", reason: "start-review failed", effects: ["post-status"] }),
  no("a failed status update on a parked run does not park again (no report loop)", parked("review"), ev.effectFailed("42-7-1_review_r0_v5_post-status", "post-status", "HTTP 403"), "already parked"),
  no("a failed comment on a parked run does not park again", parked("review"), ev.effectFailed("42-7-1_review_r0_v5_comment", "comment", "HTTP 403"), "already parked"),
  ok("a failed status update parks an active run without posting the status again", makeRun("review"), ev.effectFailed("42-7-1_review_r0_v5_post-status", "post-status", "HTTP 403"), { state: "needs-human", effects: [] }),
  ok("a failed reaction parks an active run and reports it", makeRun("review"), ev.effectFailed("42-7-1_review_r0_v5_react", "react", "HTTP 403"), { state: "needs-human", effects: ["post-status"] }),
  no("effect.failed from an earlier stage", makeRun("review"), ev.effectFailed("42-7-1_merge_r0_v4_merge-pr", "merge-pr", "HTTP 405"), "stale merge-pr failure from merge round 0 (run is in review round 0)"),
  no("effect.failed from an earlier round", inRound("implement", 1), ev.effectFailed("42-7-1_implement_r0_v4_dispatch-implement", "dispatch-implement", "x"), "from implement round 0"),
  no("effect.failed of another run", makeRun("review"), ev.effectFailed("42-7-2_review_r0_v1_start-review", "start-review", "x"), "belongs to run 42-7-2"),
];

const operatorRows: Row[] = [
  ok("operator pause holds an active run without a permission check", makeRun("review"), ev.operator("pause"), { stage: "review", state: "paused", effects: ["post-status"], reason: "pause by operator ops: active → paused" }),
  no("operator pause of a paused run is refused", paused("review"), ev.operator("pause"), "the run is paused, not active"),
  ok("operator resume replays what was deferred", paused("review", { deferred: [ev.reviewFinished()] }), ev.operator("resume"), { stage: "ci", state: "active", reason: "resume by operator ops" }),
  no("operator resume of an active run is refused", makeRun("ci"), ev.operator("resume"), "the run is active, not paused"),
  ok("operator retry revives a parked run", parked("implement"), ev.operator("retry"), { stage: "implement", state: "active", reason: "retry by operator ops" }),
  ok("operator retry revives a failed run at a named stage", makeRun("review", { state: "failed", reason: { what: "x", next: "y" } }), ev.operator("retry", ["review"]), { stage: "review", state: "active" }),
  no("operator retry of an active run is refused", makeRun("ci"), ev.operator("retry"), "retry is for parked or failed runs"),
  no("operator retry at a stage that does not exist", parked("ci"), ev.operator("retry", ["deploy"]), '"deploy" is not a stage'),
  ok("operator cancel stops the run", makeRun("approval"), ev.operator("cancel"), { state: "cancelled", reason: "cancelled by @ops" }),
  no("operator cancel of a cancelled run is refused", makeRun("approval", { state: "cancelled" }), ev.operator("cancel"), "run 42-7-1 is cancelled"),
];

const noRunRows: Row[] = SAMPLES.filter((event) => event.type !== "issue.labeled").map((event) => no(`${event.type} without a run`, null, event, "no run for this issue"));

const terminalRows: Row[] = (["done", "cancelled", "failed"] as const).flatMap((state) =>
  SAMPLES.filter((event) => event.type !== "issue.labeled")
    .filter((event) => state !== "failed" || !(event.type === "command.received" || event.type === "operator.command" || (event.type === "permission.checked" && event.subject.kind === "command")))
    .map((event) => no(`${event.type} on a ${state} run`, makeRun("review", { state }), event, `run 42-7-1 is ${state}`)),
);

const DEFERRED: EventType[] = [
  "config.loaded",
  "config.invalid",
  "implement.dispatched",
  "implement.completed",
  "implement.finished",
  "pr.opened",
  "pr.pushed",
  "review.finished",
  "ci.finished",
  "merge.finished",
  "close.finished",
  "effect.failed",
];
const deferredEvents = [...SAMPLES.filter((event) => DEFERRED.includes(event.type)), ev.permission("write", reviewSubject("approved"))];
const pausedRows: Row[] = [
  ...deferredEvents.map((event) =>
    ok(`${event.type} while paused is deferred`, paused("review", { deferred: [ev.ciFinished("success")] }), event, { stage: "review", state: "paused", effects: [], reason: "deferred while paused" }, (_d, run) => {
      expect(run.deferred).toEqual([ev.ciFinished("success"), event]);
    }),
  ),
  ok("review.submitted while paused still checks the permission", paused("approval"), ev.reviewSubmitted("approved"), { state: "paused", effects: ["check-permission"] }),
  ok("review.dismissed while paused still applies", paused("approval", { approvals: [{ login: "carol", sha: SHA, reviewId: 501 }] }), ev.reviewDismissed(501), { state: "paused", effects: ["post-status"] }),
  ok("status while paused", paused("approval"), ev.command("status"), { state: "paused", effects: ["react", "post-status"] }),
];

const ROWS: Record<string, Row[]> = {
  "issue.labeled": labeledRows,
  intake: intakeRows,
  implement: implementRows,
  "review and gate": reviewRows,
  ci: ciRows,
  "approvals and reviews": approvalRows,
  "merge, close and pr.closed": mergeRows,
  "pr.pushed": pushRows,
  commands: commandRows,
  "issue unlabeled and closed": issueRows,
  timers: timerRows,
  "effect.failed": effectRows,
  "operator commands": operatorRows,
  "no run": noRunRows,
  "terminal runs": terminalRows,
  "paused runs": pausedRows,
};
const ALL: Row[] = Object.values(ROWS).flat();
for (const row of ALL) deepFreeze(row);

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe("decide: transitions and refusals", () => {
  for (const [group, rows] of Object.entries(ROWS)) {
    describe(group, () => {
      it.each(rows)("$name", (row) => {
        const decision = decide(row.run, row.event);
        const x = row.expect;
        expect(decision.applied, decision.reason).toBe(x.applied);
        expect(decision.reason.startsWith(`${row.event.type}: `)).toBe(true);
        if (x.reason) expect(decision.reason).toContain(x.reason);
        if (!x.applied) {
          expect(decision.run).toBe(row.run);
          expect(decision.effects).toEqual([]);
          return;
        }
        const run = applied(decision);
        if (x.stage) expect(run.stage).toBe(x.stage);
        if (x.state) expect(run.state).toBe(x.state);
        if (x.round !== undefined) expect(run.round).toBe(x.round);
        if (x.effects) expect(decision.effects.map((e) => e.kind)).toEqual(x.effects);
        row.check?.(decision, run);
      });
    });
  }

  it("has a sample of every event type", () => {
    const types = PipelineEvent.options.map((option) => option.shape.type.value).sort();
    expect([...new Set(SAMPLES.map((event) => event.type))].sort()).toEqual(types);
  });
});

describe("decide: properties over every row", () => {
  const appliedRows = ALL.filter((row) => row.expect.applied);

  it.each(ALL)("$name: valid, unmutated and deterministic", (row) => {
    const before = structuredClone(row.run);
    const decision = decide(row.run, row.event); // row.run is deep-frozen: a mutation throws
    expect(row.run).toEqual(before);
    expect(decide(row.run, row.event)).toEqual(decision);
    expect(decide(structuredClone(row.run), structuredClone(row.event))).toEqual(decision);
    if (!decision.applied) return;
    const run = applied(decision);
    expect(() => Run.parse(run)).not.toThrow();
    for (const e of decision.effects) expect(() => Effect.parse(e)).not.toThrow();
    const ids = decision.effects.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[\w-]+$/);
    for (const id of ids) expect(id.startsWith(`${run.id}_${run.stage}_r${run.round}_v${run.version}_`)).toBe(true);
    expect(run.version).toBe(row.run && row.run.id === run.id ? row.run.version + 1 : 1);
    expect(run.updatedAt).toBe(row.event.at);
    if (row.run && row.run.id === run.id && row.run.stage !== run.stage) expect(run.stageStartedAt).toBe(row.event.at);
  });

  it.each(appliedRows.filter((row) => row.expect.effects?.includes("set-timer")))("$name: the timers it arms are live", (row) => {
    const decision = decide(row.run, row.event);
    const run = applied(decision);
    for (const timer of decision.effects.filter((e): e is EffectOf<"set-timer"> => e.kind === "set-timer")) {
      const fired = ev.timer(timer.timer, timer.stage, { round: timer.round, stageStartedAt: timer.stageStartedAt, at: timer.fireAt });
      expect(decide(run, fired).applied, decide(run, fired).reason).toBe(true);
    }
  });

  it("names a repeated effect kind with -2", () => {
    const run = makeRun("approval", { version: 6 });
    const effects = assignEffectIds(run, [{ kind: "post-status" }, { kind: "comment", body: "a" }, { kind: "comment", body: "b" }]);
    expect(effects.map((e) => e.id)).toEqual(["42-7-1_approval_r0_v6_post-status", "42-7-1_approval_r0_v6_comment", "42-7-1_approval_r0_v6_comment-2"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Folds: whole runs as sequences of events
// ---------------------------------------------------------------------------------------------

interface Step {
  event: PipelineEvent;
  stage?: Stage;
  state?: RunState;
  effects?: EffectKind[];
  refused?: string;
}

/** Applies the steps in order, checking each; returns the final run and every effect id issued. */
function fold(start: Run | null, steps: Step[]): { run: Run; stages: Stage[]; ids: string[]; decisions: Decision[] } {
  let run = start;
  const stages: Stage[] = [];
  const ids: string[] = [];
  const decisions: Decision[] = [];
  for (const [index, step] of steps.entries()) {
    const decision = decide(run ? deepFreeze(run) : null, step.event);
    decisions.push(decision);
    const label = `step ${index} ${step.event.type}: ${decision.reason}`;
    if (step.refused) {
      expect(decision.applied, label).toBe(false);
      expect(decision.reason, label).toContain(step.refused);
      continue;
    }
    const next = applied(decision);
    if (step.stage) expect(next.stage, label).toBe(step.stage);
    expect(next.state, label).toBe(step.state ?? "active");
    if (step.effects) expect(decision.effects.map((e) => e.kind), label).toEqual(step.effects);
    Run.parse(next);
    ids.push(...decision.effects.map((e) => e.id));
    if (stages.at(-1) !== next.stage) stages.push(next.stage);
    run = next;
  }
  if (!run) throw new Error("fold ended without a run");
  return { run, stages, ids, decisions };
}

const t = (minutes: number) => later("2024-05-01T00:00:00.000Z", minutes * 60_000);

describe("decide: whole runs", () => {
  it("goes from label to done on the happy path", () => {
    const { run, stages, ids, decisions } = fold(null, [
      { event: ev.labeled("conveyor", t(0)), stage: "intake", effects: ["load-config"] },
      { event: ev.configLoaded(DEFAULT_CONFIG, t(1)), stage: "implement", effects: FIX },
      { event: ev.dispatched(0, 900, t(2)), stage: "implement", effects: ["post-status"] },
      { event: ev.implFinished("changed", { at: t(30) }), stage: "implement", effects: ["open-pr"] },
      { event: ev.prOpened(0, SHA, t(31)), stage: "review", effects: REVIEW },
      { event: ev.ciFinished("success", { at: t(35) }), stage: "review", effects: [] },
      { event: ev.reviewFinished({ at: t(40) }), stage: "approval", effects: APPROVAL },
      { event: ev.timer("reminder", "approval", { stageStartedAt: t(40), at: t(40 + 24 * 60) }), stage: "approval", effects: ["comment", "set-timer"] },
      { event: ev.timer("deadline", "review", { stageStartedAt: t(31), at: t(61) }), refused: "stale deadline timer for review round 0 (stage is now approval)" },
      { event: ev.reviewSubmitted("approved", { at: t(2000) }), stage: "approval", effects: ["check-permission"] },
      { event: ev.permission("write", reviewSubject("approved"), { at: t(2001) }), stage: "merge", effects: MERGE },
      { event: ev.mergeFinished("merged", "", t(2002)), stage: "close", effects: CLOSE },
      { event: ev.prClosed(true, t(2003)), refused: "already closing" },
      { event: ev.issueClosed(true), refused: "closed by a bot" },
      { event: ev.closeFinished(t(2004)), stage: "close", state: "done", effects: ["post-status"] },
      { event: ev.ciFinished("success", { at: t(2005) }), refused: "run 42-7-1 is done" },
    ]);
    expect(stages).toEqual(["intake", "implement", "review", "approval", "merge", "close"]);
    expect(run).toMatchObject({ state: "done", round: 0, tokens: 1000, version: 12, approvals: [{ login: "carol", sha: SHA, reviewId: 501 }] });
    expect(new Set(ids).size).toBe(ids.length);
    expect(effect(decisions[6]!, "set-timer", 1)).toMatchObject({ timer: "reminder", fireAt: t(40 + 24 * 60) });
  });

  it("goes through review and CI fix rounds to a merge", () => {
    const config = cfg({ approval: { required: 0 }, merge: { method: "rebase" } });
    const { run, stages } = fold(null, [
      { event: ev.labeled("conveyor", t(0)), stage: "intake" },
      { event: ev.configLoaded(config, t(1)), stage: "implement" },
      { event: ev.implFinished("changed", { at: t(10) }), effects: ["open-pr"] },
      { event: ev.prOpened(0, SHA, t(11)), stage: "review" },
      { event: ev.reviewFinished({ outcomes: [outcome("security", 1)], blocking: ["secret in b.ts:9"], at: t(20) }), stage: "implement", effects: FIX },
      { event: ev.implFinished("changed", { round: 0, workflowRunId: 901, at: t(21) }), refused: "stale event for implement round 0 (run is in round 1)" },
      { event: ev.dispatched(1, 901, t(22)), effects: ["post-status"] },
      { event: ev.pushed(SHA2, t(29)), stage: "implement", effects: [] },
      { event: ev.implFinished("changed", { round: 1, workflowRunId: 901, at: t(30) }), effects: ["open-pr"] },
      { event: ev.prOpened(1, SHA2, t(31)), stage: "review", effects: REVIEW },
      { event: ev.reviewFinished({ round: 1, sha: SHA2, at: t(40) }), stage: "ci", effects: ["post-status", "evaluate-ci", "set-timer"] },
      { event: ev.ciReported(SHA2, "lint", t(45)), stage: "ci", effects: ["evaluate-ci"] },
      { event: ev.ciFinished("failure", { sha: SHA2, failing: ["test"], at: t(50) }), stage: "implement", effects: FIX },
      { event: ev.pushed(SHA, t(59)), stage: "implement" },
      { event: ev.prOpened(2, SHA, t(60)), stage: "review" },
      { event: ev.ciFinished("success", { at: t(65) }), stage: "review", effects: [] },
      { event: ev.reviewFinished({ round: 2, at: t(70) }), stage: "merge", effects: MERGE },
      { event: ev.mergeFinished("merged", "", t(71)), stage: "close" },
      { event: ev.closeFinished(t(72)), state: "done" },
    ]);
    expect(stages).toEqual(["intake", "implement", "review", "implement", "review", "ci", "implement", "review", "merge", "close"]);
    expect(run.rounds.map((r) => r.reason)).toEqual(["initial", "review", "ci"]);
    expect(run.tokens).toBe(3000);
  });

  it("defers while paused and replays on resume, leaving earlier timers stale", () => {
    const start = makeRun("implement", { stageStartedAt: t(0), workflowRunId: 900 });
    const { run, decisions } = fold(start, [
      { event: ev.command("pause", [], { at: t(1) }), effects: ["check-permission"] },
      { event: authorized("pause", [], "write", t(2)), state: "paused", effects: ["react", "post-status"] },
      { event: ev.implFinished("changed", { at: t(3) }), state: "paused", effects: [] },
      { event: ev.timer("deadline", "implement", { stageStartedAt: t(0), at: t(4) }), refused: "(run is paused)" },
      { event: ev.prOpened(0, SHA, t(5)), state: "paused", effects: [] },
    ]);
    expect(run.deferred.map((e) => e.type)).toEqual(["implement.finished", "pr.opened"]);
    expect(decisions).toHaveLength(5);

    const resumed = decide(deepFreeze(run), authorized("resume", [], "write", t(10)));
    const next = applied(resumed);
    expect(next).toMatchObject({ stage: "review", state: "active", stageStartedAt: t(10), deferred: [] });
    expect(resumed.effects.map((e) => e.kind)).toEqual(["react", "open-pr", "start-review", "post-status", "set-timer"]);
    expect(decide(next, ev.timer("deadline", "review", { stageStartedAt: t(5), at: t(35) })).reason).toContain("stage re-entered at");
    expect(decide(next, ev.timer("deadline", "review", { stageStartedAt: t(10), at: t(40) })).run?.state).toBe("needs-human");
  });

  it("parks at the fix round cap and is revived by a push and retry review", () => {
    const config = cfg({ limits: { maxFixRounds: 1 } });
    const { run } = fold(makeRun("review", { config }), [
      { event: ev.reviewFinished({ outcomes: [outcome("quality", 1)], blocking: ["dead code"], at: t(1) }), stage: "implement", effects: FIX },
      { event: ev.prOpened(1, SHA2, t(2)), stage: "review" },
      { event: ev.reviewFinished({ round: 1, sha: SHA2, outcomes: [outcome("quality", 1)], blocking: ["still dead"], at: t(3) }), state: "needs-human", effects: ["comment", "post-status"] },
      { event: authorized("fix", ["remove", "it"], "write", t(4)), state: "needs-human", effects: ["react", "comment", "post-status"] },
      { event: ev.pushed(SHA, t(5)), stage: "review", state: "needs-human", effects: [] },
      { event: authorized("retry", ["review"], "admin", t(6)), stage: "review", effects: ["react", ...REVIEW] },
      { event: ev.reviewFinished({ round: 1, sha: SHA, at: t(7) }), stage: "ci" },
    ]);
    expect(run.round).toBe(1);
    expect(run.reason).toBeNull();
  });
});
