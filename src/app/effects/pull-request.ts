import { branchFor } from "../../pipeline/implementer.js";
import type { EffectOf } from "../../pipeline/effects.js";
import type { PipelineEvent } from "../../pipeline/events.js";
import type { Run } from "../../pipeline/run.js";
import { PermanentEffectError, readFirstFile, repoParams, type GitHubContext } from "./octokit.js";

export function pullRequestMarker(runId: string): string {
  return `<!-- conveyor:pr=${runId} -->`;
}

function pullRequestBody(run: Run, round: number): string {
  const lines = [
    `Closes #${run.issue.number}`,
    "",
    `Implemented by Conveyor run \`${run.id}\`${round > 0 ? `, fix round ${round}` : ""}.`,
  ];
  if (run.feedback && round > 0) {
    lines.push("", `This round addresses ${run.feedback.source} feedback: ${run.feedback.summary}`);
    // An item's later lines (a check's output and log excerpt) stay inside its bullet.
    for (const item of run.feedback.items.slice(0, 20)) lines.push(`- ${item.replace(/\n/g, "\n  ")}`);
  }
  lines.push("", pullRequestMarker(run.id));
  return lines.join("\n");
}

/** Where GitHub looks for a pull request template; the PR body follows the first one found. */
const TEMPLATE_PATHS = [".github/pull_request_template.md", ".github/PULL_REQUEST_TEMPLATE.md", "pull_request_template.md", "PULL_REQUEST_TEMPLATE.md", "docs/pull_request_template.md"];

/**
 * Opens the run's pull request, or updates it in a later round. The branch name is the key:
 * an open PR from it is found on GitHub, so a retry (or a lost ledger) never opens a second one.
 */
export async function openPullRequest(effect: EffectOf<"open-pr">, context: GitHubContext): Promise<PipelineEvent> {
  const { run, octokit } = context;
  const branch = branchFor(run.issue.number, run.issue.title);
  const params = repoParams(run);
  const body = pullRequestBody(run, effect.round);
  const { data: existing } = await octokit.rest.pulls.list({ ...params, head: `${run.repo.owner}:${branch}`, state: "open", per_page: 1 });
  const found = existing[0];
  if (found) {
    await octokit.rest.pulls.update({ ...params, pull_number: found.number, body });
    return { type: "pr.opened", at: context.now(), round: effect.round, pr: { number: found.number, branch, headSha: found.head.sha } };
  }
  const base = run.config?.implement.ref ?? (await octokit.rest.repos.get(params)).data.default_branch;
  const template = await readFirstFile(context, TEMPLATE_PATHS, base);
  try {
    const { data } = await octokit.rest.pulls.create({ ...params, head: branch, base, title: run.issue.title, body: template ? `${template.trim()}\n\n---\n\n${body}` : body });
    return { type: "pr.opened", at: context.now(), round: effect.round, pr: { number: data.number, branch, headSha: data.head.sha } };
  } catch (error) {
    if ((error as { status?: number }).status === 422) {
      throw new PermanentEffectError(
        `GitHub refused to open a pull request from ${branch} into ${base}: ${(error as Error).message}`,
        `check that the implementer pushed commits to ${branch}, then comment /conveyor retry`,
      );
    }
    throw error;
  }
}
