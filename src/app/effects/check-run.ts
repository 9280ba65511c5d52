import type { Run } from "../../pipeline/run.js";
import { repoParams, type GitHubContext, type Octokit } from "./octokit.js";
import { LEDGER } from "./ledger-names.js";

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
  const sha = run.pr.headSha;
  const ledgerField = LEDGER.checkRun(run.id, sha);
  const title = `${run.stage} · round ${run.round} · ${run.state}`;
  const summary = run.reason ? `**${run.reason.what}**\n\nNext: ${run.reason.next}` : `Conveyor run \`${run.id}\` is at stage **${run.stage}** (round ${run.round}).`;
  const state = checkState(run);
  const body = {
    status: state.status,
    ...(state.conclusion ? { conclusion: state.conclusion, completed_at: context.now() } : {}),
    ...(detailsUrl ? { details_url: detailsUrl } : {}),
    output: { title, summary },
  };
  await putCheckRun(context, { name: CHECK_NAME, sha, externalId: run.id, ledgerField }, body);
}

type CheckRunFields = Omit<Parameters<Octokit["rest"]["checks"]["update"]>[0] & {}, "owner" | "repo" | "check_run_id" | "name" | "head_sha" | "external_id">;

/**
 * Updates a check run, or creates it when neither the ledger nor GitHub (the head's check runs
 * of that name, by `external_id`) knows it; answers its id, recorded in the ledger.
 */
export async function putCheckRun(
  context: Pick<GitHubContext, "octokit" | "store" | "issueKey" | "run">,
  check: { name: string; sha: string; externalId: string; ledgerField: string },
  fields: CheckRunFields,
): Promise<number> {
  const { octokit, store, issueKey } = context;
  const params = repoParams(context.run);
  let checkRunId = Number((await store.ledgerGet(issueKey, check.ledgerField)) ?? 0) || null;
  if (!checkRunId) {
    const { data } = await octokit.rest.checks.listForRef({ ...params, ref: check.sha, check_name: check.name, filter: "latest", per_page: 100 });
    checkRunId = data.check_runs.find((existing) => existing.external_id === check.externalId)?.id ?? null;
  }
  if (checkRunId) {
    await octokit.rest.checks.update({ ...params, ...fields, check_run_id: checkRunId });
  } else {
    const { data } = await octokit.rest.checks.create({ ...params, ...fields, name: check.name, head_sha: check.sha, external_id: check.externalId });
    checkRunId = data.id;
  }
  await store.ledgerSet(issueKey, check.ledgerField, String(checkRunId));
  return checkRunId;
}
