import type { ProbotOctokit } from "probot";
import type { Run } from "../../pipeline/run.js";
import type { EffectContext } from "../../queue/workers.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;

/** Installation-authenticated Octokit for a repository; Probot caches the tokens. */
export type GetOctokit = (installationId: number) => Promise<Octokit>;

export interface GitHubContext extends EffectContext {
  octokit: Octokit;
}

export function repoParams(run: Run) {
  return { owner: run.repo.owner, repo: run.repo.name };
}

/** An error that fails the effect for good, with what a human should do about it. */
export class PermanentEffectError extends Error {
  override name = "PermanentEffectError";
  constructor(
    message: string,
    readonly next: string,
  ) {
    super(message);
  }
}
