import type { PipelineEvent } from "../../pipeline/events.js";
import { Stage, type Run } from "../../pipeline/run.js";
import type { ExecutableEffect, ExecuteEffect } from "../../queue/workers.js";
import { renderStatusComment, runMarker } from "../status-comment.js";
import { upsertMarkedComment } from "./comments.js";
import { upsertCheckRun } from "./check-run.js";
import { loadConfig } from "./load-config.js";
import { evaluateCi } from "./ci.js";
import { dispatchImplement, inspectImplement } from "./implement.js";
import { openPullRequest } from "./pull-request.js";
import { checkPermission } from "./permission.js";
import { PermanentEffectError, repoParams, type GetOctokit, type GitHubContext, type ReviewStarter } from "./octokit.js";
import { LEDGER } from "./ledger-names.js";

type Handlers = { [K in ExecutableEffect["kind"]]: (effect: Extract<ExecutableEffect, { kind: K }>, context: GitHubContext) => Promise<PipelineEvent | null> };

const handlers: Handlers = {
  "load-config": (_effect, context) => loadConfig(context),

  "post-status": async (_effect, context) => {
    // Rendered from the run as stored when the job started (the worker read it just now), not as
    // it was when the effect was decided. Two updates of one run can still race (or an Octokit
    // retry land late): whoever finishes writing looks again and writes once more if the run moved
    // meanwhile, so the last write shows the last state.
    let current = context.run;
    for (let pass = 0; pass < 5; pass++) {
      await upsertMarkedComment(context, { ledgerField: LEDGER.statusComment(current.id), marker: runMarker(current.id), body: renderStatusComment(current), edit: true });
      await upsertCheckRun(context, current);
      const { run: after } = await context.store.load(context.issueKey);
      if (!after || after.id !== current.id || after.version === current.version) break;
      current = after;
    }
    return null;
  },

  comment: async (effect, context) => {
    const marker = `<!-- conveyor:effect=${effect.id} -->`;
    await upsertMarkedComment(context, { ledgerField: LEDGER.comment(effect.id), marker, body: `${marker}\n${effect.body}`, edit: false });
    return null;
  },

  "add-label": async (effect, context) => {
    // Adding a label the issue already has is a no-op on GitHub: safe to retry.
    await context.octokit.rest.issues.addLabels({ ...repoParams(context.run), issue_number: context.run.issue.number, labels: [effect.name] });
    return null;
  },

  react: async (effect, context) => {
    // GitHub answers an existing identical reaction with 200 instead of adding a second one.
    await context.octokit.rest.reactions.createForIssueComment({ ...repoParams(context.run), comment_id: effect.commentId, content: effect.content });
    return null;
  },

  "check-permission": checkPermission,

  "dispatch-implement": dispatchImplement,
  "inspect-implement": inspectImplement,
  "evaluate-ci": evaluateCi,
  "open-pr": openPullRequest,

  // The round runs as a BullMQ flow and answers with review.finished when its parent finishes.
  "start-review": async (effect, context) => {
    if (!context.reviews) throw new Error("effects: start-review needs the review flow");
    await context.reviews.start({ issueKey: context.issueKey, runId: context.run.id, round: effect.round, sha: effect.sha, angles: effect.angles, effectId: effect.id });
    return null;
  },

  "merge-pr": async (effect, context) => {
    const { run, octokit } = context;
    if (!run.pr) throw new PermanentEffectError("the run has no pull request to merge", "open the pull request, then /conveyor retry merge");
    try {
      await octokit.rest.pulls.merge({ ...repoParams(run), pull_number: run.pr.number, sha: effect.sha, merge_method: effect.method });
      return { type: "merge.finished", at: context.now(), outcome: "merged", detail: "" };
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status !== 405 && status !== 409) throw error;
      const { data } = await octokit.rest.pulls.get({ ...repoParams(run), pull_number: run.pr.number });
      if (data.merged) return { type: "merge.finished", at: context.now(), outcome: "merged", detail: "" };
      const outcome = data.mergeable_state === "dirty" ? "conflict" : "not-mergeable";
      return { type: "merge.finished", at: context.now(), outcome, detail: `${(error as Error).message} (mergeable_state: ${data.mergeable_state})` };
    }
  },

  "close-issue": async (_effect, context) => {
    const { run, octokit } = context;
    const marker = `<!-- conveyor:summary=${run.id} -->`;
    await upsertMarkedComment(context, { ledgerField: LEDGER.summaryComment(run.id), marker, body: closingSummary(run, marker, context.now()), edit: false });
    await octokit.rest.issues.update({ ...repoParams(run), issue_number: run.issue.number, state: "closed", state_reason: "completed" });
    return { type: "close.finished", at: context.now() };
  },
};

function minutes(from: string, to: string): string {
  const total = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 60_000));
  return total >= 120 ? `${Math.floor(total / 60)} h ${total % 60} min` : `${total} min`;
}

/** The closing comment: what the run did, round by round, what the reviews found, what it cost. */
export function closingSummary(run: Run, marker: string, now: string): string {
  const lines = [marker, `Conveyor run \`${run.id}\` finished${run.pr ? ` with #${run.pr.number}` : ""} in ${minutes(run.createdAt, now)}.`, "", "| Round | Why | Started |", "| --- | --- | --- |"];
  for (const round of run.rounds) lines.push(`| ${round.round} | ${round.reason}: ${round.summary.replace(/\r?\n+/g, " ").replace(/\|/g, "\\|")} | ${round.startedAt} |`);
  if (run.reviews.length) {
    lines.push("", "| Review | Result | Blocking | Findings |", "| --- | --- | --- | --- |");
    for (const review of run.reviews) lines.push(`| ${review.angle} | ${review.status} | ${review.blocking} | ${review.total} |`);
  }
  lines.push("", `- fix rounds: ${run.round}`, `- approvals: ${run.approvals.map((approval) => `@${approval.login}`).join(", ") || "none needed"}`, `- LLM tokens: ${run.tokens.toLocaleString("en-US")}`);
  lines.push(`- stages: ${Stage.options.join(" → ")}; started ${run.createdAt}, finished ${now}`);
  return lines.join("\n");
}

/** Builds the effect executor the effect worker calls, over installation-authenticated Octokits. */
export function createEffectExecutor(deps: { getOctokit: GetOctokit; reviews: ReviewStarter }): ExecuteEffect {
  return async (effect, context) => {
    const octokit = await deps.getOctokit(context.run.repo.installationId);
    // Each call gets its own Octokit: its request lines then carry the run, stage and round.
    octokit.log = context.log.child({ name: "github" });
    const handler = handlers[effect.kind] as (effect: ExecutableEffect, context: GitHubContext) => Promise<PipelineEvent | null>;
    return handler(effect, { ...context, octokit, reviews: deps.reviews });
  };
}
