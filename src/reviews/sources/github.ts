import type { ProbotOctokit } from "probot";
import { diffFromPullRequestFiles, type ParsedDiff } from "../diff.js";
import { reviewableFiles } from "../security/support.js";
import type { ReviewContext, ReviewSource } from "../source.js";
import type { SharedLoads } from "./shared-loads.js";

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

/** The change a review looks at, before any file is read. */
export type ChangeUnderReview = Omit<ReviewContext, "files">;

const changeKey = (target: GitHubReviewTarget) => `${target.owner}/${target.repo}#${target.pullNumber} ${target.previousSha ?? "start"}...${target.headSha}`;
const share = <T>(shared: SharedLoads | undefined, key: string, load: () => Promise<T>) => (shared ? shared.get(key, load) : load());

/**
 * The whole PR (`pulls/{n}/files`), or in a fix round only the new commits
 * (`compare/{previous}...{head}`). A force-push, where the previous head is no ancestor of the
 * new one, gets a full review.
 */
export function loadPullRequestDiff(octokit: Octokit, target: GitHubReviewTarget, shared?: SharedLoads): Promise<ChangeUnderReview> {
  return share(shared, `diff ${changeKey(target)}`, async () => {
    const params = { owner: target.owner, repo: target.repo };
    const notes: string[] = [];
    if (target.previousSha && target.previousSha !== target.headSha) {
      const { data } = await octokit.rest.repos.compareCommitsWithBasehead({ ...params, basehead: `${target.previousSha}...${target.headSha}` });
      if (data.status === "ahead") {
        notes.push(`incremental review of the commits since ${target.previousSha.slice(0, 7)}`);
        return { diff: diffFromPullRequestFiles(data.files ?? []), mode: "incremental", notes };
      }
      notes.push(`history was rewritten since ${target.previousSha.slice(0, 7)} (${data.status}): full review`);
    }
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...params, pull_number: target.pullNumber, per_page: 100 });
    return { diff: diffFromPullRequestFiles(files), mode: "full", notes };
  });
}

/**
 * Reads a pull request through the GitHub API: the change and the new contents of its files.
 * With `shared`, the angles of one round fetch and parse all that once; the architecture
 * angle's extra files (`related`) are read on top, into its own copy.
 */
export function githubReviewSource(octokit: Octokit, target: GitHubReviewTarget, shared?: SharedLoads): ReviewSource {
  return {
    async load(): Promise<ReviewContext> {
      const context = await share(shared, `context ${changeKey(target)}`, () => readChangedFiles(octokit, target, shared));
      if (!target.related) return context;
      const files = new Map(context.files);
      await readInto(files, octokit, target, target.related(context.diff, files));
      return { ...context, files };
    },
  };
}

async function readChangedFiles(octokit: Octokit, target: GitHubReviewTarget, shared: SharedLoads | undefined): Promise<ReviewContext> {
  const change = await loadPullRequestDiff(octokit, target, shared);
  const files = new Map<string, string>();
  const wanted = reviewableFiles(change.diff).map((file) => file.path);
  await readInto(files, octokit, target, wanted);
  const notes = [...change.notes];
  if (wanted.some((path) => !files.has(path))) notes.push(`read ${files.size} changed files in full; the rest only as diff (limits: ${MAX_CONTENT_FILES} files, ${MAX_CONTENT_CHARS.toLocaleString("en-US")} characters)`);
  return { ...change, files, notes };
}

/** Adds the files at the head to `files`, within the limits on what one review reads. */
async function readInto(files: Map<string, string>, octokit: Octokit, target: GitHubReviewTarget, paths: readonly string[]): Promise<void> {
  let budget = MAX_CONTENT_CHARS - [...files.values()].reduce((sum, content) => sum + content.length, 0);
  for (const path of paths) {
    if (files.has(path) || files.size >= MAX_CONTENT_FILES || budget <= 0) continue;
    const content = await readFile(octokit, { owner: target.owner, repo: target.repo }, path, target.headSha);
    if (content === null) continue;
    files.set(path, content);
    budget -= content.length;
  }
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
