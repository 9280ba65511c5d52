import type { Run } from "../../pipeline/run.js";
import { repoParams, type GitHubContext } from "./octokit.js";

export const CHECK_NAME = "Conveyor";

type Conclusion = "success" | "failure" | "neutral" | "cancelled" | "action_required";

function checkState(run: Run): { status: "in_progress" | "completed"; conclusion?: Conclusion } {
  switch (run.state) {
    case "active":
    case "paused":
      return { status: "in_progress" };
    case "done":
      return { status: "completed", conclusion: "success" };
    case "needs-human":
      return { status: "completed", conclusion: "action_required" };
    case "cancelled":
      return { status: "completed", conclusion: "cancelled" };
    case "failed":
      return { status: "completed", conclusion: "failure" };
  }
}

/**
 * The `Conveyor` check run on the PR head: stage, round and why the run waits, next to the
 * repository's own checks. `external_id` is the run id, so the check is found again on GitHub
 * when the ledger is gone; a new head sha gets its own check run, as GitHub expects.
 */
export async function upsertCheckRun(context: GitHubContext, run: Run, detailsUrl?: string): Promise<void> {
  if (!run.pr) return;
  const { octokit, store, issueKey } = context;
  const params = repoParams(run);
  const sha = run.pr.headSha;
  const ledgerField = `check-run:${run.id}:${sha}`;
  const title = `${run.stage} · round ${run.round} · ${run.state}`;
  const summary = run.reason ? `**${run.reason.what}**\n\nNext: ${run.reason.next}` : `Conveyor run \`${run.id}\` is at stage **${run.stage}** (round ${run.round}).`;
  const state = checkState(run);
  const body = {
    ...params,
    status: state.status,
    ...(state.conclusion ? { conclusion: state.conclusion, completed_at: context.now() } : {}),
    ...(detailsUrl ? { details_url: detailsUrl } : {}),
    external_id: run.id,
    output: { title, summary },
  };
  let checkRunId = Number((await store.ledgerGet(issueKey, ledgerField)) ?? 0) || null;
  if (!checkRunId) {
    const { data } = await octokit.rest.checks.listForRef({ ...params, ref: sha, check_name: CHECK_NAME, filter: "latest", per_page: 100 });
    checkRunId = data.check_runs.find((check) => check.external_id === run.id)?.id ?? null;
  }
  if (checkRunId) {
    await octokit.rest.checks.update({ ...body, check_run_id: checkRunId });
  } else {
    const { data } = await octokit.rest.checks.create({ ...body, name: CHECK_NAME, head_sha: sha });
    checkRunId = data.id;
  }
  await store.ledgerSet(issueKey, ledgerField, String(checkRunId));
}
