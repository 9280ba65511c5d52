import { z } from "zod";
import { RepoConfig } from "./config.js";
import { AngleOutcome, PullRequestRef, RepoRef, Stage } from "./run.js";

/**
 * Everything that can happen to a run. Webhooks, effect results, timers and commands all arrive
 * as one of these; `decide` is the only place they change a run. `at` is the event's own time
 * (the webhook's timestamp or the adapter's clock), so `decide` never reads a clock.
 */
const base = { at: z.iso.datetime({ offset: true }) };

// run.ts imports this module (Run.deferred holds events), so the schemas borrowed from run.ts are
// read through getters: evaluated on first parse, not at import, whichever module loads first.

export const Permission = z.enum(["admin", "maintain", "write", "triage", "read", "none"]);
export type Permission = z.infer<typeof Permission>;

export const CommandName = z.enum(["status", "retry", "review", "fix", "pause", "resume", "cancel", "help", "unknown"]);
export type CommandName = z.infer<typeof CommandName>;

export const Command = z.object({
  name: CommandName,
  args: z.array(z.string()),
  /** The comment the command came in, for reactions and replies. */
  commentId: z.number().int(),
  /** The command text as typed, for the help reply to an unknown command. */
  text: z.string(),
});
export type Command = z.infer<typeof Command>;

/** What an operator may do to a run from the CLI or the dashboard. */
export const OperatorCommandName = z.enum(["retry", "pause", "resume", "cancel"]);
export type OperatorCommandName = z.infer<typeof OperatorCommandName>;

export const ReviewState = z.enum(["approved", "changes_requested", "commented"]);

/** What waits for a permission check: an approval/change request, or a command. */
export const Guarded = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("review"),
    reviewId: z.number().int(),
    state: ReviewState,
    sha: z.string(),
    body: z.string(),
    comments: z.array(z.string()),
  }),
  z.object({ kind: z.literal("command"), command: Command }),
]);
export type Guarded = z.infer<typeof Guarded>;

export const TimerName = z.enum(["deadline", "reminder", "expiry"]);
export type TimerName = z.infer<typeof TimerName>;

export const PipelineEvent = z.discriminatedUnion("type", [
  // The issue
  z.object({ type: z.literal("issue.labeled"), ...base, label: z.string(), actor: z.string(), get repo() { return RepoRef; }, issue: z.object({ number: z.number().int().positive(), title: z.string() }) }),
  z.object({ type: z.literal("issue.unlabeled"), ...base, label: z.string(), actor: z.string() }),
  z.object({ type: z.literal("issue.closed"), ...base, actor: z.string(), isBot: z.boolean() }),
  // intake
  z.object({ type: z.literal("config.loaded"), ...base, config: RepoConfig }),
  z.object({ type: z.literal("config.invalid"), ...base, errors: z.array(z.string()).min(1) }),
  // implement
  z.object({ type: z.literal("implement.dispatched"), ...base, round: z.number().int().min(0), workflowRunId: z.number().int() }),
  z.object({
    type: z.literal("implement.finished"),
    ...base,
    round: z.number().int().min(0),
    workflowRunId: z.number().int(),
    outcome: z.enum(["changed", "no-changes", "failed"]),
    detail: z.string().default(""),
  }),
  /** The implementer workflow run ended (workflow_run.completed); `conclusion` as GitHub reports it. */
  z.object({
    type: z.literal("implement.completed"),
    ...base,
    workflowRunId: z.number().int(),
    runName: z.string(),
    conclusion: z.string(),
    url: z.string(),
  }),
  z.object({ type: z.literal("pr.opened"), ...base, round: z.number().int().min(0), get pr() { return PullRequestRef; } }),
  z.object({ type: z.literal("pr.pushed"), ...base, headSha: z.string(), actor: z.string() }),
  z.object({ type: z.literal("pr.closed"), ...base, merged: z.boolean(), actor: z.string() }),
  // review and gate
  z.object({
    type: z.literal("review.finished"),
    ...base,
    round: z.number().int().min(0),
    sha: z.string(),
    get outcomes() {
      return z.array(AngleOutcome);
    },
    /** Blocking findings, one line each, handed to the implementer as feedback. */
    blocking: z.array(z.string()),
    tokens: z.number().int().min(0),
  }),
  // ci
  /** One of the repository's checks on a PR head finished; evaluate-ci then reads them all. */
  z.object({ type: z.literal("ci.reported"), ...base, sha: z.string(), check: z.string() }),
  z.object({
    type: z.literal("ci.finished"),
    ...base,
    sha: z.string(),
    conclusion: z.enum(["success", "failure"]),
    /** One item per failing check: the first line `name (conclusion)`, then its link, output and log excerpt. */
    failing: z.array(z.string()),
  }),
  // approval
  z.object({
    type: z.literal("review.submitted"),
    ...base,
    login: z.string(),
    isBot: z.boolean(),
    review: Guarded.options[0],
  }),
  z.object({ type: z.literal("review.dismissed"), ...base, reviewId: z.number().int() }),
  z.object({ type: z.literal("command.received"), ...base, login: z.string(), isBot: z.boolean(), command: Command }),
  /** A command from an operator (CLI, dashboard): trusted by whoever can reach Redis, so no permission check. */
  z.object({ type: z.literal("operator.command"), ...base, operator: z.string().min(1), command: OperatorCommandName, args: z.array(z.string()).default([]) }),
  z.object({
    type: z.literal("permission.checked"),
    ...base,
    login: z.string(),
    permission: Permission,
    subject: Guarded,
    /** For approvals: whether this reviewer may approve under the repo's rules (users, teams, code owners, separation of duties). */
    eligible: z.object({ ok: z.boolean(), why: z.string() }).optional(),
  }),
  // merge and close
  z.object({
    type: z.literal("merge.finished"),
    ...base,
    outcome: z.enum(["merged", "conflict", "not-mergeable"]),
    detail: z.string().default(""),
  }),
  z.object({ type: z.literal("close.finished"), ...base }),
  // engine
  z.object({
    type: z.literal("timer.fired"),
    ...base,
    timer: TimerName,
    get stage() {
      return Stage;
    },
    round: z.number().int().min(0),
    /** The stage entry the timer was armed for; a timer from an earlier entry is stale. */
    stageStartedAt: z.string(),
  }),
  z.object({
    type: z.literal("effect.failed"),
    ...base,
    effectId: z.string(),
    kind: z.string(),
    error: z.string(),
    /** What a human should do about it, when the executor knows. */
    next: z.string().optional(),
  }),
]);
export type PipelineEvent = z.infer<typeof PipelineEvent>;
export type EventType = PipelineEvent["type"];
export type EventOf<T extends EventType> = Extract<PipelineEvent, { type: T }>;
