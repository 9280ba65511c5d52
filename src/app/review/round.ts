import type { Logger } from "pino";
import { runLogger } from "../../logger.js";
import { DEFAULT_CONFIG } from "../../pipeline/config.js";
import type { PipelineEvent } from "../../pipeline/events.js";
import type { Run } from "../../pipeline/run.js";
import type { IssueKey } from "../../queue/keys.js";
import { classifyFailure, describeFailure } from "../../queue/failures.js";
import type { AngleJob, ReviewRound, RoundJob } from "../../queue/review-flow.js";
import type { RunStore } from "../../queue/run-store.js";
import { ANGLE_DEFINITIONS, relatedFiles } from "../../reviews/angles.js";
import { Finding } from "../../reviews/finding.js";
import { runAngleReview } from "../../reviews/graph.js";
import { ModelOutputError, type ModelProvider } from "../../reviews/model.js";
import { summariseRound, type AngleResult } from "../../reviews/round.js";
import { githubReviewSource, loadPullRequestDiff } from "../../reviews/sources/github.js";
import { SharedLoads } from "../../reviews/sources/shared-loads.js";
import { repoParams, type GetOctokit, type GitHubContext } from "../effects/octokit.js";
import { publishAngleChecks, publishReview } from "./publish.js";
import { LEDGER } from "../effects/ledger-names.js";


/**
 * The review round on GitHub: each angle's graph reads the PR, the round merges the angles'
 * findings with the earlier rounds', posts one review and a check run per angle, and answers
 * the pipeline with review.finished.
 */
export function createReviewRound(deps: { store: RunStore; getOctokit: GetOctokit; models: ModelProvider; log: Logger }): ReviewRound {
  const { store, getOctokit, models, log } = deps;
  // The four angles' child jobs (and the parent's inline-comment check) read one PR at one head.
  const shared = new SharedLoads();

  async function loadRun(issueKey: IssueKey, runId: string): Promise<Run> {
    const { run } = await store.load(issueKey);
    if (!run || run.id !== runId || !run.pr) throw new Error(`review: run ${runId} is gone or has no pull request`);
    return run;
  }

  async function earlierFindings(issueKey: IssueKey, runId: string): Promise<Finding[]> {
    const json = await store.ledgerGet(issueKey, LEDGER.findings(runId));
    return json ? Finding.array().parse(JSON.parse(json)) : [];
  }

  return {
    async runAngle(job: AngleJob): Promise<AngleResult> {
      const run = await loadRun(job.issueKey, job.runId);
      const config = run.config ?? DEFAULT_CONFIG;
      const [octokit, previousSha, open] = await Promise.all([getOctokit(run.repo.installationId), store.ledgerGet(job.issueKey, LEDGER.reviewedSha(run.id)), earlierFindings(job.issueKey, run.id)]);
      const source = githubReviewSource(octokit, { ...repoParams(run), pullNumber: run.pr!.number, headSha: job.sha, previousSha, related: job.angle === "architecture" ? relatedFiles : undefined }, shared);
      const earlier = open.filter((finding) => finding.angle === job.angle);
      try {
        const model = await models(job.angle, config);
        const review = await runAngleReview(ANGLE_DEFINITIONS[job.angle], { source, model }, { config, earlier });
        return { ...review, status: "ok" };
      } catch (error) {
        if (error instanceof ModelOutputError) return { angle: job.angle, status: "failed", error: error.message, tokens: error.tokens };
        // Transient (GitHub 5xx, LLM 429, network): BullMQ retries this angle alone.
        if (classifyFailure(error) === "transient") throw error;
        runLogger(log, run, { issueKey: job.issueKey, angle: job.angle }).error({ err: error }, `the ${job.angle} review failed`);
        return { angle: job.angle, status: "failed", error: describeFailure(error), tokens: 0 };
      }
    },

    async finishRound(job: RoundJob, results: AngleResult[]): Promise<PipelineEvent> {
      const run = await loadRun(job.issueKey, job.runId);
      const config = run.config ?? DEFAULT_CONFIG;
      const earlier = await earlierFindings(job.issueKey, run.id);
      const summary = summariseRound({ results, earlier, config });
      const octokit = await getOctokit(run.repo.installationId);
      const context: GitHubContext = { run, issueKey: job.issueKey, store, log: runLogger(log, run, { issueKey: job.issueKey }), octokit, now: () => new Date().toISOString(), lastAttempt: false };
      // The whole PR's diff: inline comments may go on any line of it, not only the newest commits'.
      const { diff } = await loadPullRequestDiff(octokit, { ...repoParams(run), pullNumber: run.pr!.number, headSha: job.sha, previousSha: null }, shared);
      await publishReview(context, { round: job.round, sha: job.sha, summary, diff });
      await publishAngleChecks(context, { round: job.round, sha: job.sha, summary });
      await store.ledgerSet(job.issueKey, LEDGER.findings(run.id), JSON.stringify(summary.open));
      await store.ledgerSet(job.issueKey, LEDGER.reviewedSha(run.id), job.sha);
      return { type: "review.finished", at: new Date().toISOString(), round: job.round, sha: job.sha, outcomes: summary.outcomes, blocking: summary.blocking, tokens: summary.tokens };
    },
  };
}
