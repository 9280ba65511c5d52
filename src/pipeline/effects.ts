import { z } from "zod";
import { Angle } from "./config.js";
import { Guarded, TimerName } from "./events.js";
import { Feedback, Stage } from "./run.js";

/**
 * What a decision asks the outside world to do. Each effect becomes one BullMQ job whose id is
 * the effect's `id`, so an effect enqueued twice runs once. Effects carry only what the executor
 * cannot read from the run itself.
 */
const base = { id: z.string().regex(/^[\w-]+$/, "letters, digits, _ and - (BullMQ refuses ':')") };

export const Effect = z.discriminatedUnion("kind", [
  /** Read and validate `.github/conveyor.yml`; answers with config.loaded or config.invalid. */
  z.object({ kind: z.literal("load-config"), ...base }),
  /** Create or edit the sticky status comment (and the Conveyor check run) from the run as stored. */
  z.object({ kind: z.literal("post-status"), ...base }),
  /** Dispatch the implementer workflow; answers with implement.dispatched. */
  z.object({ kind: z.literal("dispatch-implement"), ...base, round: z.number().int().min(0), feedback: Feedback.nullable() }),
  /** After a successful implementer run: did the branch move? Answers with implement.finished. */
  z.object({ kind: z.literal("inspect-implement"), ...base, round: z.number().int().min(0), workflowRunId: z.number().int() }),
  /** Read every check on a head sha; answers with ci.finished once all required ones completed. */
  z.object({ kind: z.literal("evaluate-ci"), ...base, sha: z.string() }),
  /** Open the PR for the run's branch, or update it; answers with pr.opened. */
  z.object({ kind: z.literal("open-pr"), ...base, round: z.number().int().min(0) }),
  /** Run the review flow for a head sha; answers with review.finished. */
  z.object({ kind: z.literal("start-review"), ...base, round: z.number().int().min(0), sha: z.string(), angles: z.array(Angle).min(1) }),
  /** Ask GitHub for a user's permission on the repo; answers with permission.checked. */
  z.object({ kind: z.literal("check-permission"), ...base, login: z.string(), subject: Guarded }),
  /** Merge the PR at exactly this head sha; answers with merge.finished. */
  z.object({ kind: z.literal("merge-pr"), ...base, sha: z.string(), method: z.enum(["merge", "squash", "rebase"]) }),
  /** Close the issue with the run's summary; answers with close.finished. */
  z.object({ kind: z.literal("close-issue"), ...base }),
  /** Post a one-off comment on the issue (refusals, help, reminders, invalid config). */
  z.object({ kind: z.literal("comment"), ...base, body: z.string().min(1) }),
  /** Add a label to the issue (e.g. when the approval wait expired). */
  z.object({ kind: z.literal("add-label"), ...base, name: z.string().min(1) }),
  /** React to a comment: +1 accepted, confused refused, eyes seen. */
  z.object({ kind: z.literal("react"), ...base, commentId: z.number().int(), content: z.enum(["+1", "confused", "eyes"]) }),
  /** Arm a timer (a delayed job); it fires as timer.fired with the same fields. */
  z.object({
    kind: z.literal("set-timer"),
    ...base,
    timer: TimerName,
    stage: Stage,
    round: z.number().int().min(0),
    stageStartedAt: z.string(),
    fireAt: z.string(),
  }),
]);
export type Effect = z.infer<typeof Effect>;
export type EffectKind = Effect["kind"];
export type EffectOf<K extends EffectKind> = Extract<Effect, { kind: K }>;
