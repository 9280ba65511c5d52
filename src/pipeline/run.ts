import { z } from "zod";
import { Angle, RepoConfig } from "./config.js";
import { PipelineEvent } from "./events.js";

/** Where a run is in the pipeline. `gate` is decided inside `review`, so it is not a waiting stage. */
export const Stage = z.enum(["intake", "implement", "review", "ci", "approval", "merge", "close"]);
export type Stage = z.infer<typeof Stage>;

/**
 * Whether the run moves. `paused` and `needs-human` keep their stage so `resume`/`retry` can go
 * on from it; `done`, `cancelled` and `failed` are terminal.
 */
export const RunState = z.enum(["active", "paused", "needs-human", "done", "cancelled", "failed"]);
export type RunState = z.infer<typeof RunState>;
export const TERMINAL_STATES: readonly RunState[] = ["done", "cancelled", "failed"];

export const RepoRef = z.object({
  id: z.number().int().positive(),
  owner: z.string().min(1),
  name: z.string().min(1),
  installationId: z.number().int().positive(),
});
export type RepoRef = z.infer<typeof RepoRef>;

export const PullRequestRef = z.object({
  number: z.number().int().positive(),
  branch: z.string().min(1),
  headSha: z.string().min(1),
});
export type PullRequestRef = z.infer<typeof PullRequestRef>;

/** A problem one stage reported that the implementer is asked to fix in the next round. */
export const Feedback = z.object({
  source: z.enum(["review", "ci", "changes-requested", "command", "merge-conflict"]),
  summary: z.string(),
  items: z.array(z.string()).default([]),
});
export type Feedback = z.infer<typeof Feedback>;

export const AngleOutcome = z.object({
  angle: Angle,
  status: z.enum(["ok", "failed"]),
  /** Findings at or above the config's blocking severity (advisory angles never count). */
  blocking: z.number().int().min(0),
  total: z.number().int().min(0),
  error: z.string().optional(),
});
export type AngleOutcome = z.infer<typeof AngleOutcome>;

export const Approval = z.object({ login: z.string(), sha: z.string(), reviewId: z.number().int() });
export type Approval = z.infer<typeof Approval>;

/** One fix round: why it was started. Rendered in the status comment and the closing summary. */
export const RoundRecord = z.object({
  round: z.number().int().min(0),
  reason: Feedback.shape.source.or(z.literal("initial")),
  summary: z.string(),
  startedAt: z.string(),
});
export type RoundRecord = z.infer<typeof RoundRecord>;

export const Run = z.object({
  /** `<repoId>-<issue>-<generation>`: unique, no `:` and never all digits (BullMQ job ids). */
  id: z.string().regex(/^\d+-\d+-\d+$/),
  /** 1 for an issue's first run; a new run after a finished one takes the next number. */
  generation: z.number().int().min(1),
  /** Bumped by `decide` on every change; the store refuses a commit whose base version moved. */
  version: z.number().int().min(1),
  repo: RepoRef,
  issue: z.object({ number: z.number().int().positive(), title: z.string() }),
  startedBy: z.string(),
  /** The label that started the run; intake cancels it when the repo config names another. */
  label: z.string(),
  stage: Stage,
  state: RunState,
  /** 0 is the first implementation; each fix round adds one. */
  round: z.number().int().min(0),
  /** Repository config snapshot taken at intake; null until it is loaded. */
  config: RepoConfig.nullable(),
  pr: PullRequestRef.nullable(),
  /** Workflow run of the current implement round, from the dispatch's `workflow_run_id`. */
  workflowRunId: z.number().int().nullable(),
  reviews: z.array(AngleOutcome),
  /** The repository's own CI result for a head sha; may arrive before the reviews finish. */
  ci: z.object({ sha: z.string(), conclusion: z.enum(["success", "failure"]), failing: z.array(z.string()) }).nullable(),
  approvals: z.array(Approval),
  /** Feedback handed to the implementer in the current round (null in round 0). */
  feedback: Feedback.nullable(),
  rounds: z.array(RoundRecord),
  tokens: z.number().int().min(0),
  /** Stage events that arrived while paused; `resume` applies them in order. */
  deferred: z.array(z.lazy(() => PipelineEvent)),
  /** Why the run is parked, failed or cancelled, and what a human can do next. */
  reason: z.object({ what: z.string(), next: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  stageStartedAt: z.string(),
});
export type Run = z.infer<typeof Run>;

export function isTerminal(run: Pick<Run, "state">): boolean {
  return TERMINAL_STATES.includes(run.state);
}

/** What starting a run takes: the issue's labelling. */
export interface RunStart {
  repo: RepoRef;
  issue: Run["issue"];
  /** 1 for the issue's first run, then one more per run after a finished one. */
  generation: number;
  startedBy: string;
  label: string;
  at: string;
}

/** A run as the trigger label starts it: in intake, with nothing done yet. */
export function newRun(start: RunStart): Run {
  return {
    id: `${start.repo.id}-${start.issue.number}-${start.generation}`,
    generation: start.generation,
    version: 1,
    repo: start.repo,
    issue: start.issue,
    startedBy: start.startedBy,
    label: start.label,
    stage: "intake",
    state: "active",
    round: 0,
    config: null,
    pr: null,
    workflowRunId: null,
    reviews: [],
    ci: null,
    approvals: [],
    feedback: null,
    rounds: [],
    tokens: 0,
    deferred: [],
    reason: null,
    createdAt: start.at,
    updatedAt: start.at,
    stageStartedAt: start.at,
  };
}
