import type { ProbotOctokit } from "probot";
import { diffFromPullRequestFiles, type ParsedDiff } from "../diff.js";
import type { ReviewContext, ReviewSource } from "../source.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/** Bounds on what one review reads from GitHub: a cost ceiling, said in the review when hit. */
export const MAX_CONTENT_FILES = 60;
export const MAX_CONTENT_CHARS = 2_000_000;

export interface GitHubReviewTarget {
  owner: string;
  repo: string;
  pullNumber: number;
  headSha: string;
  /** The head reviewed in the previous round: review only what came since, unless history was rewritten. */
  previousSha: string | null;
  /** Extra files worth reading besides the changed ones (the architecture angle's imports). */
  related?: (diff: ParsedDiff, files: ReadonlyMap<string, string>) => string[];
}

/**
 * Reads a pull request through the GitHub API: the whole PR (`pulls/{n}/files`), or in a fix
 * round only the new commits (`compare/{previous}...{head}`). A force-push, where the previous
 * head is no ancestor of the new one, gets a full review.
 */
export function githubReviewSource(octokit: Octokit, target: GitHubReviewTarget): ReviewSource {
  return {
    async load(): Promise<ReviewContext> {
      const params = { owner: target.owner, repo: target.repo };
      const notes: string[] = [];
      let diff: ParsedDiff | null = null;
      let mode: ReviewContext["mode"] = "full";
      if (target.previousSha && target.previousSha !== target.headSha) {
        const { data } = await octokit.rest.repos.compareCommitsWithBasehead({ ...params, basehead: `${target.previousSha}...${target.headSha}` });
        if (data.status === "ahead") {
          diff = diffFromPullRequestFiles(data.files ?? []);
          mode = "incremental";
          notes.push(`incremental review of the commits since ${target.previousSha.slice(0, 7)}`);
        } else {
          notes.push(`history was rewritten since ${target.previousSha.slice(0, 7)} (${data.status}): full review`);
        }
      }
      if (!diff) {
        const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...params, pull_number: target.pullNumber, per_page: 100 });
        diff = diffFromPullRequestFiles(files);
      }
      const files = new Map<string, string>();
      const wanted = diff.files.filter((file) => !file.binary && file.status !== "deleted").map((file) => file.path);
      let budget = MAX_CONTENT_CHARS;
      const read = async (paths: string[]) => {
        for (const path of paths) {
          if (files.has(path) || files.size >= MAX_CONTENT_FILES || budget <= 0) continue;
          const content = await readFile(octokit, params, path, target.headSha);
          if (content === null) continue;
          files.set(path, content);
          budget -= content.length;
        }
      };
      await read(wanted);
      if (target.related) await read(target.related(diff, files));
      if (wanted.some((path) => !files.has(path))) notes.push(`read ${files.size} changed files in full; the rest only as diff (limits: ${MAX_CONTENT_FILES} files, ${MAX_CONTENT_CHARS.toLocaleString("en-US")} characters)`);
      return { diff, files, mode, notes };
    },
  };
}

async function readFile(octokit: Octokit, params: { owner: string; repo: string }, path: string, ref: string): Promise<string | null> {
  try {
    const { data } = await octokit.rest.repos.getContent({ ...params, path, ref, mediaType: { format: "raw" } });
    return typeof data === "string" ? data : null;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}
