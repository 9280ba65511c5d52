import type { Logger } from "pino";
import { runLogger } from "../../logger.js";
import { planCleanup, type CleanupStep } from "../../schedules/cleanup.js";
import type { Run } from "../../pipeline/run.js";
import type { RunStore } from "../../queue/run-store.js";
import type { GetOctokit, Octokit } from "../effects/octokit.js";

export interface CleanupOptions {
  /** Run records looked at per pass (the pass goes on where the last one stopped). */
  scanPerPass?: number;
  /** Runs cleaned up per pass at most. */
  maxRunsPerPass?: number;
  now?: () => number;
}

export interface CleanupResult {
  scanned: number;
  cleaned: { runId: string; reason: string; steps: string[] }[];
  /** Index position the next pass starts at. */
  cursor: number;
}

/**
 * The clean-up pass over cancelled and expired runs, as each repository's `cleanup:` config
 * allows (off by default): close the run's pull request with a comment, delete its
 * `conveyor/…` branch, remove the trigger label. Each run is cleaned once (a ledger mark), each
 * step is safe to repeat, and a pass is bounded; the next pass goes on where it stopped.
 */
export async function cleanupRuns(store: RunStore, cursorKey: string, getOctokit: GetOctokit, log: Logger, options: CleanupOptions = {}): Promise<CleanupResult> {
  const now = (options.now ?? Date.now)();
  const scan = options.scanPerPass ?? 500;
  const max = options.maxRunsPerPass ?? 20;
  const start = Number((await store.redis.get(cursorKey)) ?? 0);
  const keys = await store.redis.zrange(store.keys.all(), String(start), String(start + scan - 1));
  const result: CleanupResult = { scanned: 0, cleaned: [], cursor: 0 };
  let position = start;
  for (const key of keys) {
    if (result.cleaned.length >= max) break;
    position++;
    result.scanned++;
    const { run } = await store.load(key);
    if (!run) continue;
    const plan = planCleanup(run, run.config?.cleanup, now);
    if (!plan.clean) continue;
    const mark = `cleanup:${run.id}`;
    if (await store.ledgerGet(key, mark)) continue;
    const octokit = await getOctokit(run.repo.installationId);
    const done: string[] = [];
    for (const step of plan.steps) done.push(await runStep(octokit, run, step, store, key));
    await store.ledgerSet(key, mark, new Date(now).toISOString());
    result.cleaned.push({ runId: run.id, reason: plan.reason, steps: done });
    runLogger(log, run).info({ steps: done }, `clean-up of ${plan.reason} run ${run.id}: ${done.join("; ")}`);
  }
  // Wrap around at the end of the index.
  result.cursor = keys.length < scan && position >= start + keys.length ? 0 : position;
  await store.redis.set(cursorKey, String(result.cursor));
  return result;
}

async function runStep(octokit: Octokit, run: Run, step: CleanupStep, store: RunStore, key: string): Promise<string> {
  const params = { owner: run.repo.owner, repo: run.repo.name };
  const gone = (error: unknown) => [404, 422].includes((error as { status?: number }).status ?? 0);
  switch (step.kind) {
    case "close-pr": {
      const { data } = await octokit.rest.pulls.get({ ...params, pull_number: step.pr });
      if (data.state !== "open") return `PR #${step.pr} already ${data.merged ? "merged" : "closed"}`;
      // The comment is posted once even if closing fails and the pass runs again.
      const commented = `cleanup:${run.id}:commented`;
      if (!(await store.ledgerGet(key, commented))) {
        await octokit.rest.issues.createComment({ ...params, issue_number: step.pr, body: `<!-- conveyor:cleanup=${run.id} -->\n${step.comment}` });
        await store.ledgerSet(key, commented, "1");
      }
      await octokit.rest.pulls.update({ ...params, pull_number: step.pr, state: "closed" });
      return `closed PR #${step.pr}`;
    }
    case "delete-branch":
      try {
        await octokit.rest.git.deleteRef({ ...params, ref: `heads/${step.branch}` });
        return `deleted branch ${step.branch}`;
      } catch (error) {
        if (!gone(error)) throw error;
        return `branch ${step.branch} already gone`;
      }
    case "remove-label":
      try {
        await octokit.rest.issues.removeLabel({ ...params, issue_number: step.issue, name: step.label });
        return `removed label ${step.label} from #${step.issue}`;
      } catch (error) {
        if (!gone(error)) throw error;
        return `label ${step.label} already off #${step.issue}`;
      }
  }
}
