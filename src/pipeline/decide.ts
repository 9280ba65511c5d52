import { parseImplementRunName } from "./implementer.js";
import { onCommandPermission, onCommandReceived, onOperatorCommand, onReviewPermission, onReviewSubmitted, type Replay } from "./commands.js";
import { assignEffectIds, parseEffectId, type EffectDraft } from "./effect-id.js";
import type { Effect } from "./effects.js";
import type { EventOf, EventType, PipelineEvent } from "./events.js";
import { isTerminal, newRun, type Run, type Stage } from "./run.js";
import {
  applied,
  approvalTimer,
  cancel,
  ciFeedback,
  configOf,
  countBlocking,
  enterApproval,
  enterCi,
  enterClose,
  enterReview,
  fixRound,
  park,
  plural,
  PR_STAGES,
  prefixOf,
  refused,
  setTimer,
  shortSha,
  validApprovals,
  type Outcome,
} from "./stages.js";

export type Decision = { run: Run | null; effects: Effect[]; applied: boolean; reason: string };

/**
 * The pipeline: what an event does to an issue's latest run. Pure (no I/O, clock or randomness),
 * so the same run and event always give the same decision. A refused event leaves the run as it
 * was; an applied one returns a new run one version up and the effects to enqueue.
 */
export function decide(current: Run | null, event: PipelineEvent): Decision {
  const outcome = step(current, event);
  const reason = `${event.type}: ${outcome.reason}`;
  if (!outcome.applied) return { run: current, effects: [], applied: false, reason };
  const version = current && current.id === outcome.run.id ? current.version + 1 : 1;
  const run: Run = { ...outcome.run, version, updatedAt: event.at };
  return { run, effects: assignEffectIds(run, outcome.effects), applied: true, reason };
}

/** Events that move the run: while it is paused they wait in `run.deferred` for `resume`. */
const DEFERRED_WHILE_PAUSED: ReadonlySet<EventType> = new Set<EventType>([
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
]);

function isDeferredWhilePaused(event: PipelineEvent): boolean {
  if (event.type === "permission.checked") return event.subject.kind === "review";
  return DEFERRED_WHILE_PAUSED.has(event.type);
}

/** A failed run still takes commands, so `retry` can revive it. */
function worksOnTerminal(run: Run, event: PipelineEvent): boolean {
  if (run.state !== "failed") return false;
  return event.type === "command.received" || event.type === "operator.command" || (event.type === "permission.checked" && event.subject.kind === "command");
}

function step(current: Run | null, event: PipelineEvent): Outcome {
  if (event.type === "issue.labeled") return onLabeled(current, event);
  if (!current) return refused("no run for this issue");
  if (isTerminal(current) && !worksOnTerminal(current, event)) return refused(`run ${current.id} is ${current.state}`);
  if (current.state === "paused" && isDeferredWhilePaused(event)) {
    return applied({ ...current, deferred: [...current.deferred, event] }, [], "deferred while paused");
  }
  const run = current;
  switch (event.type) {
    case "issue.unlabeled":
      if (event.label !== run.label) return refused(`label ${event.label} is not the trigger label ${run.label}`);
      return cancel(run, `label removed by @${event.actor}`);
    case "issue.closed":
      if (event.isBot) return refused(`closed by a bot (@${event.actor})`);
      if (run.stage === "close") return refused("closing the issue is part of the close stage");
      return cancel(run, `issue closed by @${event.actor}`);
    case "config.loaded":
      return onConfigLoaded(run, event);
    case "config.invalid":
      return onConfigInvalid(run, event);
    case "implement.dispatched":
      return onImplementDispatched(run, event);
    case "implement.completed":
      return onImplementCompleted(run, event);
    case "implement.finished":
      return onImplementFinished(run, event);
    case "pr.opened": {
      const why = notIn(run, "implement", event.round);
      if (why) return refused(why);
      return enterReview({ ...run, pr: event.pr }, event.pr, event.at, configOf(run).review.angles);
    }
    case "pr.pushed":
      return onPrPushed(run, event);
    case "pr.closed":
      if (!run.pr) return refused("the run has no pull request");
      if (!event.merged) return cancel(run, `PR closed without merging by @${event.actor}`);
      if (run.stage === "close") return refused("already closing");
      return enterClose(run, event.at);
    case "review.finished":
      return onReviewFinished(run, event);
    case "ci.reported":
      return onCiReported(run, event);
    case "ci.finished":
      return onCiFinished(run, event);
    case "review.submitted":
      return onReviewSubmitted(run, event);
    case "review.dismissed": {
      const kept = run.approvals.filter((approval) => approval.reviewId !== event.reviewId);
      if (kept.length === run.approvals.length) return refused(`no approval from review ${event.reviewId}`);
      return applied({ ...run, approvals: kept }, [{ kind: "post-status" }], `approval from review ${event.reviewId} dismissed`);
    }
    case "command.received":
      return onCommandReceived(run, event);
    case "operator.command":
      return onOperatorCommand(run, event, replay);
    case "permission.checked":
      if (event.subject.kind === "command") return onCommandPermission(run, event, event.subject.command, replay);
      return onReviewPermission(run, event);
    case "merge.finished":
      return onMergeFinished(run, event);
    case "close.finished": {
      const why = notIn(run, "close");
      if (why) return refused(why);
      return applied({ ...run, state: "done", reason: null }, [{ kind: "post-status" }], "close → done");
    }
    case "timer.fired":
      return onTimerFired(run, event);
    case "effect.failed":
      return onEffectFailed(run, event);
  }
}

/** Folds deferred events through `step`, for `resume`. */
const replay: Replay = (run, events) => {
  let acc = run;
  const effects: EffectDraft[] = [];
  const notes: string[] = [];
  for (const event of events) {
    const outcome = step(acc, event);
    if (outcome.applied) {
      acc = outcome.run;
      effects.push(...outcome.effects);
      notes.push(`${event.type}: ${outcome.reason}`);
    } else {
      notes.push(`${event.type} dropped: ${outcome.reason}`);
    }
  }
  return { run: acc, effects, notes };
};

/** Why an event for `stage` (and `round`) does not apply to the run now, or null when it does. */
function notIn(run: Run, stage: Stage, round?: number): string | null {
  if (run.state !== "active") return `run is ${run.state}`;
  if (run.stage !== stage) return `stage is ${run.stage}, not ${stage}`;
  if (round !== undefined && round !== run.round) return `stale event for ${stage} round ${round} (run is in round ${run.round})`;
  return null;
}

function onLabeled(current: Run | null, event: EventOf<"issue.labeled">): Outcome {
  if (current && !isTerminal(current)) return refused(`issue already has an active run ${current.id} (${current.state})`);
  const generation = (current?.generation ?? 0) + 1;
  const run = newRun({ repo: event.repo, issue: event.issue, generation, startedBy: event.actor, label: event.label, at: event.at });
  return applied(run, [{ kind: "load-config" }], `started run ${run.id} by @${event.actor}`);
}

function onConfigLoaded(run: Run, event: EventOf<"config.loaded">): Outcome {
  const why = notIn(run, "intake");
  if (why) return refused(why);
  const { config } = event;
  if (config.label !== run.label) {
    // Silent: another label on the issue is none of Conveyor's business.
    const reason = { what: `label ${run.label} is not the trigger label ${config.label}`, next: `add the label ${config.label} to start a run` };
    return applied({ ...run, config, state: "cancelled", reason }, [], `intake → cancelled: ${reason.what}`);
  }
  const rounds = run.rounds.length ? run.rounds : [{ round: 0, reason: "initial" as const, summary: "first implementation", startedAt: event.at }];
  const next: Run = { ...run, config, rounds, stage: "implement", stageStartedAt: event.at, workflowRunId: null };
  const effects: EffectDraft[] = [
    { kind: "post-status" },
    { kind: "dispatch-implement", round: next.round, feedback: next.feedback },
    setTimer(next, "deadline", event.at, config.implement.timeout),
  ];
  return applied(next, effects, "intake → implement");
}

function onConfigInvalid(run: Run, event: EventOf<"config.invalid">): Outcome {
  const why = notIn(run, "intake");
  if (why) return refused(why);
  const reason = {
    what: "invalid .github/conveyor.yml",
    next: "fix the fields listed and add the label again, or comment /conveyor retry",
  };
  const body = [
    "Conveyor cannot start: `.github/conveyor.yml` is invalid.",
    "",
    ...event.errors.map((error) => `- ${error}`),
    "",
    "Fix the fields listed and add the label again, or comment `/conveyor retry`.",
  ].join("\n");
  return applied({ ...run, state: "failed", reason }, [{ kind: "comment", body }, { kind: "post-status" }], `intake → failed: ${plural(event.errors.length, "config error")}`);
}

function onImplementDispatched(run: Run, event: EventOf<"implement.dispatched">): Outcome {
  const why = notIn(run, "implement", event.round);
  if (why) return refused(why);
  if (run.workflowRunId === event.workflowRunId) return refused(`workflow run ${event.workflowRunId} is already recorded`);
  if (run.workflowRunId !== null) return refused(`round ${run.round} already runs workflow run ${run.workflowRunId}, not ${event.workflowRunId}`);
  return applied({ ...run, workflowRunId: event.workflowRunId }, [{ kind: "post-status" }], `implement round ${run.round} runs workflow run ${event.workflowRunId}`);
}

/**
 * The implementer workflow ended. It is this round's run when the dispatch's workflow_run_id
 * matches, or, before that id is recorded, when the run name names this run and round.
 */
function onImplementCompleted(run: Run, event: EventOf<"implement.completed">): Outcome {
  if (run.stage !== "implement") return refused(`workflow run ${event.workflowRunId} ended, but the run is in ${run.stage}`);
  const named = parseImplementRunName(event.runName);
  const ours = run.workflowRunId !== null ? run.workflowRunId === event.workflowRunId : named?.runId === run.id && named.round === run.round;
  if (!ours) return refused(`unrelated workflow run ${event.workflowRunId} "${event.runName}" (round ${run.round} runs ${run.workflowRunId ?? "an unrecorded workflow run"})`);
  const next: Run = { ...run, workflowRunId: event.workflowRunId };
  if (event.conclusion === "success") {
    return applied(next, [{ kind: "inspect-implement", round: run.round, workflowRunId: event.workflowRunId }], `implement round ${run.round} succeeded: reading the branch`);
  }
  const prefix = prefixOf(run);
  return park(next, `the implementer workflow ended ${event.conclusion} in round ${run.round} (${event.url})`, `read the workflow's log, then ${prefix} retry or ${prefix} fix <instructions>`);
}

function onImplementFinished(run: Run, event: EventOf<"implement.finished">): Outcome {
  const why = notIn(run, "implement", event.round);
  if (why) return refused(why);
  if (run.workflowRunId !== null && run.workflowRunId !== event.workflowRunId) {
    return refused(`unrelated workflow run ${event.workflowRunId} (round ${run.round} runs ${run.workflowRunId})`);
  }
  const next: Run = { ...run, workflowRunId: event.workflowRunId };
  const prefix = prefixOf(run);
  switch (event.outcome) {
    case "changed":
      return applied(next, [{ kind: "open-pr", round: run.round }], `implement round ${run.round} made changes: opening the PR`);
    case "no-changes":
      return park(next, `the agent made no changes in round ${run.round}`, `${prefix} fix <instructions> or ${prefix} retry`);
    case "failed": {
      const detail = event.detail ? `: ${event.detail}` : "";
      return park(next, `the implementer failed in round ${run.round}${detail}`, `check workflow run ${event.workflowRunId}, then ${prefix} retry or ${prefix} fix <instructions>`);
    }
  }
}

function onPrPushed(run: Run, event: EventOf<"pr.pushed">): Outcome {
  const pr = run.pr;
  if (!pr) return refused("the run has no pull request");
  if (pr.headSha === event.headSha) return refused(`already at ${shortSha(event.headSha)}`);
  const head = { ...pr, headSha: event.headSha };
  const next: Run = { ...run, pr: head, ci: run.ci?.sha === event.headSha ? run.ci : null };
  if (run.state === "active" && PR_STAGES.includes(run.stage)) {
    const outcome = enterReview(next, head, event.at, configOf(run).review.angles);
    return outcome.applied ? { ...outcome, reason: `pushed by @${event.actor}: ${outcome.reason}` } : outcome;
  }
  return applied(next, [], `recorded push of ${shortSha(event.headSha)} by @${event.actor}`);
}

function onReviewFinished(run: Run, event: EventOf<"review.finished">): Outcome {
  const why = notIn(run, "review", event.round);
  if (why) return refused(why);
  const pr = run.pr;
  if (!pr || pr.headSha !== event.sha) return refused(`stale review of ${shortSha(event.sha)} (head is ${pr ? shortSha(pr.headSha) : "unknown"})`);
  const config = configOf(run);
  const next: Run = { ...run, reviews: event.outcomes, tokens: run.tokens + event.tokens };
  const budget = config.limits.tokenBudget;
  if (next.tokens > budget) {
    return park(next, `token budget exceeded: ${next.tokens} of ${budget}`, `review and merge the PR yourself, or ${prefixOf(run)} cancel`);
  }
  const blocking = countBlocking(config, event.outcomes);
  if (blocking > 0) {
    const summary = `${plural(blocking, "blocking finding")} in the review of ${shortSha(event.sha)}`;
    return fixRound(next, { source: "review", summary, items: event.blocking }, event.at);
  }
  return enterCi(next, pr, event.at);
}

/** A check finished on some sha: only the head of a run waiting in ci is worth reading. */
function onCiReported(run: Run, event: EventOf<"ci.reported">): Outcome {
  const pr = run.pr;
  if (!pr) return refused("the run has no pull request");
  if (pr.headSha !== event.sha) return refused(`check ${event.check} reported on ${shortSha(event.sha)}, not the head ${shortSha(pr.headSha)}`);
  if (run.stage !== "ci" || run.state !== "active") return refused(`check ${event.check} reported while the run is ${run.state} in ${run.stage}`);
  return applied(run, [{ kind: "evaluate-ci", sha: event.sha }], `check ${event.check} reported on ${shortSha(event.sha)}: reading CI`);
}

function onCiFinished(run: Run, event: EventOf<"ci.finished">): Outcome {
  const pr = run.pr;
  if (!pr) return refused("the run has no pull request");
  if (pr.headSha !== event.sha) return refused(`stale CI result for ${shortSha(event.sha)} (head is ${shortSha(pr.headSha)})`);
  const next: Run = { ...run, ci: { sha: event.sha, conclusion: event.conclusion, failing: event.failing } };
  if (run.stage !== "ci" || run.state !== "active") {
    return applied(next, [], `recorded CI ${event.conclusion} on ${shortSha(event.sha)} (run is ${run.state} in ${run.stage})`);
  }
  if (event.conclusion === "success") return enterApproval(next, pr, event.at);
  return fixRound(next, ciFeedback(event.sha, event.failing), event.at);
}

function onMergeFinished(run: Run, event: EventOf<"merge.finished">): Outcome {
  const why = notIn(run, "merge");
  if (why) return refused(why);
  const detail = event.detail ? `: ${event.detail}` : "";
  switch (event.outcome) {
    case "merged":
      return enterClose(run, event.at);
    case "conflict": {
      const feedback = { source: "merge-conflict" as const, summary: `the PR conflicts with its base branch${detail}`, items: event.detail ? [event.detail] : [] };
      return fixRound(run, feedback, event.at);
    }
    case "not-mergeable":
      return park(run, `the PR cannot be merged${detail}`, `fix what blocks the merge (branch protection, required checks), then ${prefixOf(run)} retry`);
  }
}

function onTimerFired(run: Run, event: EventOf<"timer.fired">): Outcome {
  const stale = `stale ${event.timer} timer for ${event.stage} round ${event.round}`;
  if (run.state !== "active") return refused(`${stale} (run is ${run.state})`);
  if (run.stage !== event.stage) return refused(`${stale} (stage is now ${run.stage})`);
  if (run.round !== event.round) return refused(`${stale} (round is now ${run.round})`);
  if (run.stageStartedAt !== event.stageStartedAt) return refused(`${stale} (stage re-entered at ${run.stageStartedAt})`);
  const config = configOf(run);
  const prefix = prefixOf(run);
  if (event.timer === "deadline") {
    const timeouts: Partial<Record<Stage, string>> = { implement: config.implement.timeout, review: config.review.timeout, ci: config.ci.timeout };
    const timeout = timeouts[run.stage];
    if (!timeout) return refused(`${run.stage} has no deadline`);
    return park(run, `${run.stage} timed out after ${timeout}`, `${prefix} retry to run ${run.stage} again`);
  }
  if (run.stage !== "approval") return refused(`${run.stage} has no ${event.timer} timer`);
  if (event.timer === "expiry") {
    return park(run, `approval wait expired after ${config.approval.expireAfter}`, `approve the PR, then ${prefix} retry; or ${prefix} cancel`, [
      { kind: "add-label", name: config.approval.expiredLabel },
    ]);
  }
  const sha = run.pr?.headSha ?? "";
  const body = `Waiting for approval: ${validApprovals(run, sha)} of ${config.approval.required} approving reviews of ${shortSha(sha)} from people with write access. Approve the pull request to let Conveyor go on.`;
  return applied(run, [{ kind: "comment", body }, approvalTimer(run, event.at)], "approval reminder");
}

/** Effects that only tell humans about the run; their failure must not trigger more telling. */
const REPORTING_EFFECTS = new Set(["post-status", "comment", "react", "add-label"]);

function onEffectFailed(run: Run, event: EventOf<"effect.failed">): Outcome {
  const origin = parseEffectId(event.effectId);
  if (origin && origin.runId !== run.id) return refused(`effect ${event.effectId} belongs to run ${origin.runId}, not ${run.id}`);
  if (origin && (origin.stage !== run.stage || origin.round !== run.round)) {
    return refused(`stale ${event.kind} failure from ${origin.stage} round ${origin.round} (run is in ${run.stage} round ${run.round})`);
  }
  const what = `${event.kind} failed: ${event.error}`;
  const next = event.next ?? `fix the cause, then comment ${prefixOf(run)} retry`;
  if (REPORTING_EFFECTS.has(event.kind)) {
    // Parking reports through the status comment; when reporting is what fails, parking again
    // would fail again, forever. A parked run keeps its first reason.
    if (run.state === "needs-human") return refused(`${what} while the run is already parked; not parking again`);
    return park(run, what, next, [], event.kind !== "post-status");
  }
  return park(run, what, next);
}
