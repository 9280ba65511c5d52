import { DEFAULT_CONFIG, durationMs, type Angle, type RepoConfig } from "./config.js";
import type { EffectDraft } from "./effect-id.js";
import type { TimerName } from "./events.js";
import type { AngleOutcome, Feedback, PullRequestRef, Run, Stage } from "./run.js";

/**
 * What one event does to a run, before `decide` stamps the version and names the effects.
 * Stage helpers below return one, so a transition reads as one call.
 */
export type Outcome = { applied: true; run: Run; effects: EffectDraft[]; reason: string } | { applied: false; reason: string };

export function applied(run: Run, effects: EffectDraft[], reason: string): Outcome {
  return { applied: true, run, effects, reason };
}

export function refused(reason: string): Outcome {
  return { applied: false, reason };
}

/** Stages that wait for the outside world under a timer; `resume` re-arms their timers. */
export const WAITING_STAGES: readonly Stage[] = ["implement", "review", "ci", "approval"];
/** Stages where the PR exists and a human push or review sends the run back to review. */
export const PR_STAGES: readonly Stage[] = ["review", "ci", "approval", "merge"];

export function configOf(run: Run): RepoConfig {
  return run.config ?? DEFAULT_CONFIG;
}

export function prefixOf(run: Run): string {
  return run.config?.commandPrefix ?? "/conveyor";
}

export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function moveTo(run: Run, stage: Stage, at: string): Run {
  return { ...run, stage, stageStartedAt: at };
}

function postStatus(): EffectDraft {
  return { kind: "post-status" };
}

/** A timer for the run's current stage entry; it is stale once the stage, round or entry changes. */
export function setTimer(run: Run, timer: TimerName, at: string, duration: string): EffectDraft {
  return timerAt(run, timer, Date.parse(at) + durationMs(duration));
}

function timerAt(run: Run, timer: TimerName, fireAt: number): EffectDraft {
  return { kind: "set-timer", timer, stage: run.stage, round: run.round, stageStartedAt: run.stageStartedAt, fireAt: new Date(fireAt).toISOString() };
}

/**
 * Approval's one timer: the earlier of the next reminder (`remindEvery` from `at`) and the expiry
 * (`expireAfter` from the stage entry). A reminder that fires arms the next one the same way, so
 * a run waiting for days holds one timer job, not two.
 */
export function approvalTimer(run: Run, at: string): EffectDraft {
  const { approval } = configOf(run);
  const expiresAt = Date.parse(run.stageStartedAt) + durationMs(approval.expireAfter);
  const remindAt = Date.parse(at) + durationMs(approval.remindEvery);
  return remindAt < expiresAt ? timerAt(run, "reminder", remindAt) : timerAt(run, "expiry", expiresAt);
}

/** The timers a stage entry arms: a deadline, or for approval its one timer (see approvalTimer). */
export function stageTimers(run: Run, at: string): EffectDraft[] {
  const config = configOf(run);
  switch (run.stage) {
    case "implement":
      return [setTimer(run, "deadline", at, config.implement.timeout)];
    case "review":
      return [setTimer(run, "deadline", at, config.review.timeout)];
    case "ci":
      return [setTimer(run, "deadline", at, config.ci.timeout)];
    case "approval":
      return [approvalTimer(run, at)];
    default:
      return [];
  }
}

export function validApprovals(run: Run, sha: string): number {
  return run.approvals.filter((approval) => approval.sha === sha).length;
}

/** Blocking findings of non-advisory angles, plus their failures when the config says they block. */
export function countBlocking(config: RepoConfig, outcomes: readonly AngleOutcome[]): number {
  const counted = outcomes.filter((outcome) => !config.review.advisory.includes(outcome.angle));
  const findings = counted.reduce((sum, outcome) => sum + outcome.blocking, 0);
  const failures = config.review.onAngleFailure === "block" ? counted.filter((outcome) => outcome.status === "failed").length : 0;
  return findings + failures;
}

/** needs-human: the stage stays, the reason tells a human what happened and what to do. */
export function park(run: Run, what: string, next: string, effects: EffectDraft[] = [], report = true): Outcome {
  return applied({ ...run, state: "needs-human", reason: { what, next } }, report ? [...effects, postStatus()] : effects, `${run.stage} parked: ${what}`);
}

/** cancelled: terminal; a new label starts a new run. */
export function cancel(run: Run, what: string, effects: EffectDraft[] = [postStatus()]): Outcome {
  const next = { what, next: `add the label ${run.label} again to start a new run` };
  return applied({ ...run, state: "cancelled", reason: next }, effects, `${run.state} → cancelled: ${what}`);
}

/** Send the implementer back with feedback, or park once the round cap is reached. */
export function fixRound(run: Run, feedback: Feedback, at: string): Outcome {
  const max = configOf(run).limits.maxFixRounds;
  if (run.round >= max) {
    const comment: EffectDraft = { kind: "comment", body: capComment(run, feedback, max) };
    const next = `push fixes to the PR and comment ${prefixOf(run)} retry review, or finish and merge the PR yourself`;
    return park(run, `fix round cap reached (${plural(max, "round")})`, next, [comment]);
  }
  const round = run.round + 1;
  const next: Run = {
    ...moveTo(run, "implement", at),
    state: "active",
    reason: null,
    round,
    feedback,
    reviews: [],
    ci: null,
    workflowRunId: null,
    rounds: [...run.rounds, { round, reason: feedback.source, summary: feedback.summary, startedAt: at }],
  };
  const effects: EffectDraft[] = [postStatus(), { kind: "dispatch-implement", round, feedback }, ...stageTimers(next, at)];
  return applied(next, effects, `${run.stage} → implement, fix round ${round} (${feedback.source})`);
}

function capComment(run: Run, feedback: Feedback, max: number): string {
  const rounds = run.rounds.map((record) => `- round ${record.round} (${record.reason}): ${record.summary}`);
  const items = feedback.items.map((item) => `  - ${item.replace(/\n/g, "\n    ")}`);
  return [
    `Conveyor stopped after ${plural(max, "fix round")} (\`limits.maxFixRounds\`), so this run needs a human.`,
    "",
    "Rounds so far:",
    ...rounds,
    "",
    `Still open (${feedback.source}): ${feedback.summary}`,
    ...items,
    "",
    `Push fixes to the pull request and comment \`${prefixOf(run)} retry review\`, or finish and merge it yourself.`,
  ].join("\n");
}

/** Dispatch the implementer for the run's round (a new round, a retry or the first one). */
export function enterImplement(run: Run, at: string): Outcome {
  const next: Run = { ...moveTo(run, "implement", at), workflowRunId: null };
  const effects: EffectDraft[] = [postStatus(), { kind: "dispatch-implement", round: next.round, feedback: next.feedback }, ...stageTimers(next, at)];
  return applied(next, effects, `${run.stage} → implement (round ${next.round})`);
}

export function enterReview(run: Run, pr: PullRequestRef, at: string, angles: Angle[]): Outcome {
  const next: Run = { ...moveTo(run, "review", at), reviews: [] };
  const start: EffectDraft = { kind: "start-review", round: next.round, sha: pr.headSha, angles };
  return applied(next, [postStatus(), start, ...stageTimers(next, at)], `${run.stage} → review of ${shortSha(pr.headSha)}`);
}

/** Wait for CI on the head, or act at once on a result that arrived before the reviews did. */
export function enterCi(run: Run, pr: PullRequestRef, at: string): Outcome {
  const ci = run.ci;
  if (ci && ci.sha === pr.headSha) {
    if (ci.conclusion === "success") return enterApproval(run, pr, at);
    return fixRound(run, ciFeedback(ci.sha, ci.failing), at);
  }
  const next = moveTo(run, "ci", at);
  // Checks may have finished while the reviews ran: read them now, then on every report.
  return applied(next, [postStatus(), { kind: "evaluate-ci", sha: pr.headSha }, ...stageTimers(next, at)], `${run.stage} → ci`);
}

export function ciFeedback(sha: string, failing: string[]): Feedback {
  // An item's first line names the check; the lines after it (output, log excerpt) are for the agent.
  const names = failing.map((item) => item.split("\n", 1)[0]);
  const checks = names.length ? names.join(", ") : "the repository's checks";
  return { source: "ci", summary: `CI failed on ${shortSha(sha)}: ${checks}`, items: failing };
}

export function enterApproval(run: Run, pr: PullRequestRef, at: string): Outcome {
  const required = configOf(run).approval.required;
  const valid = validApprovals(run, pr.headSha);
  if (valid >= required) return enterMerge(run, pr, at);
  const next = moveTo(run, "approval", at);
  return applied(next, [postStatus(), ...stageTimers(next, at)], `${run.stage} → approval (${valid} of ${required} approvals)`);
}

export function enterMerge(run: Run, pr: PullRequestRef, at: string): Outcome {
  const method = configOf(run).merge.method;
  const next = moveTo(run, "merge", at);
  if (method === "manual") return applied(next, [postStatus()], `${run.stage} → merge (manual: a human merges)`);
  return applied(next, [postStatus(), { kind: "merge-pr", sha: pr.headSha, method }], `${run.stage} → merge (${method})`);
}

export function enterClose(run: Run, at: string): Outcome {
  const next: Run = { ...moveTo(run, "close", at), state: "active", reason: null, deferred: [] };
  return applied(next, [{ kind: "close-issue" }, postStatus()], `${run.stage} → close`);
}

/** Re-enter a stage with its entry effects (`retry`); refused when the stage cannot run yet. */
export function reenterStage(run: Run, stage: Stage, at: string): Outcome {
  if (stage === "intake") {
    return applied(moveTo(run, "intake", at), [{ kind: "load-config" }, postStatus()], `${run.stage} → intake`);
  }
  if (!run.config) return refused(`the repository config is not loaded yet, retry intake first`);
  if (stage === "implement") return enterImplement(run, at);
  if (stage === "close") return enterClose(run, at);
  const pr = run.pr;
  if (!pr) return refused(`there is no pull request yet, so ${stage} cannot run`);
  switch (stage) {
    case "review":
      return enterReview(run, pr, at, configOf(run).review.angles);
    case "ci":
      return enterCi(run, pr, at);
    case "approval":
      return enterApproval(run, pr, at);
    case "merge":
      return enterMerge(run, pr, at);
  }
}
