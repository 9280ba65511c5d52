import type { ProbotOctokit } from "probot";
import type { Run } from "../../pipeline/run.js";
import type { EffectContext } from "../../queue/workers.js";
import type { RoundJob } from "../../queue/review-flow.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;

/** Installation-authenticated Octokit for a repository; Probot caches the tokens. */
export type GetOctokit = (installationId: number) => Promise<Octokit>;

/** Starts a review round (a BullMQ flow); the round reports back with review.finished. */
export interface ReviewStarter {
  start(job: RoundJob): Promise<void>;
}

export interface GitHubContext extends EffectContext {
  octokit: Octokit;
  /** Only the start-review effect uses it. */
  reviews?: ReviewStarter;
}

export function repoParams(run: Run) {
  return { owner: run.repo.owner, repo: run.repo.name };
}

/**
 * The first of `paths` that exists in the run's repository (at `ref`, else the default branch),
 * as raw text; null when none does. For files with conventional alternative homes (CODEOWNERS,
 * the pull request template).
 */
export async function readFirstFile(context: GitHubContext, paths: readonly string[], ref?: string): Promise<string | null> {
  for (const path of paths) {
    try {
      const { data } = await context.octokit.rest.repos.getContent({ ...repoParams(context.run), path, ...(ref ? { ref } : {}), mediaType: { format: "raw" } });
      if (typeof data === "string") return data;
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  return null;
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
