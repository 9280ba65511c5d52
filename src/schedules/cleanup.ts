import { z } from "zod";
import type { Run } from "../pipeline/run.js";
import { ScheduleDuration, scheduleDurationMs } from "./schema.js";

// Clean-up of finished-but-abandoned runs: what a repository allows, and what to do for one run.
// Conservative by default: off until a repository turns it on, and then only for cancelled runs.

export const CleanupConfig = z
  .object({
    /** Nothing is cleaned up unless this is true. */
    enabled: z.boolean().default(false),
    /** Which runs: cancelled ones, and/or runs parked because their approval wait expired. */
    runs: z.array(z.enum(["cancelled", "expired"])).min(1).default(["cancelled"]),
    /** How long after the run stopped moving. */
    after: ScheduleDuration.default("3d"),
    /** Close the run's pull request (with a comment saying why) if it is still open. */
    closePullRequest: z.boolean().default(true),
    /** Delete the run's `conveyor/…` branch. Branches with other names are never touched. */
    deleteBranch: z.boolean().default(true),
    /** Remove the trigger label from the issue. */
    removeLabel: z.boolean().default(true),
  })
  .strict();
export type CleanupConfig = z.infer<typeof CleanupConfig>;

export const DEFAULT_CLEANUP: CleanupConfig = CleanupConfig.parse({});

export type CleanupStep =
  | { kind: "close-pr"; pr: number; comment: string }
  | { kind: "delete-branch"; branch: string }
  | { kind: "remove-label"; issue: number; label: string };

export type CleanupPlan = { clean: false; why: string } | { clean: true; reason: "cancelled" | "expired"; steps: CleanupStep[] };

/** Why a run is a clean-up candidate, if it is one. */
export function cleanupReason(run: Pick<Run, "state" | "reason">): "cancelled" | "expired" | null {
  if (run.state === "cancelled") return "cancelled";
  if (run.state === "needs-human" && /approval wait expired/i.test(run.reason?.what ?? "")) return "expired";
  return null;
}

/** What clean-up does for one run now, under its repository's settings. Pure. */
export function planCleanup(run: Run, config: CleanupConfig | undefined, now: number): CleanupPlan {
  const settings = config ?? DEFAULT_CLEANUP;
  if (!settings.enabled) return { clean: false, why: "clean-up is off for this repository" };
  const reason = cleanupReason(run);
  if (!reason) return { clean: false, why: `run is ${run.state}` };
  if (!settings.runs.includes(reason)) return { clean: false, why: `${reason} runs are not cleaned up here` };
  const idleMs = now - Date.parse(run.updatedAt);
  if (idleMs < scheduleDurationMs(settings.after)) return { clean: false, why: `stopped ${Math.round(idleMs / 60_000)} min ago; waits ${settings.after}` };
  const steps: CleanupStep[] = [];
  const what = reason === "cancelled" ? `its run \`${run.id}\` was cancelled` : `its run \`${run.id}\` waited for approval until the wait expired`;
  if (settings.closePullRequest && run.pr) {
    steps.push({ kind: "close-pr", pr: run.pr.number, comment: `Conveyor closes this pull request: ${what}. Label the issue again to start a new run.` });
  }
  if (settings.deleteBranch && run.pr && run.pr.branch.startsWith("conveyor/")) steps.push({ kind: "delete-branch", branch: run.pr.branch });
  if (settings.removeLabel) steps.push({ kind: "remove-label", issue: run.issue.number, label: run.label });
  return { clean: true, reason, steps };
}
