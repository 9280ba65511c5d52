import type { EffectOf } from "../../pipeline/effects.js";
import type { PipelineEvent } from "../../pipeline/events.js";
import { RetryLaterError } from "../../queue/failures.js";
import { CHECK_NAME } from "./check-run.js";
import { logNotes } from "./ci-logs.js";
import { repoParams, type GitHubContext } from "./octokit.js";

/** Conveyor's own checks (the run's and the review angles') are not the repository's CI. */
function isOwnCheck(name: string): boolean {
  return name === CHECK_NAME || name.startsWith(`${CHECK_NAME} / `);
}

const GREEN = new Set(["success", "neutral", "skipped"]);
const EXCERPT = 1_500;

/**
 * Reads the repository's checks on a head sha. All required ones completed → ci.finished with
 * the failing checks as feedback (name, link, output and, for GitHub Actions jobs, a log excerpt);
 * anything still running → nothing (the next check report reads again). No check at all yet → try
 * again a few times, because CI registers its checks a moment after the push; then call it green.
 */
export async function evaluateCi(effect: EffectOf<"evaluate-ci">, context: GitHubContext): Promise<PipelineEvent | null> {
  const { run, octokit } = context;
  const required = run.config?.ci.required ?? [];
  const all = await octokit.paginate(octokit.rest.checks.listForRef, { ...repoParams(run), ref: effect.sha, filter: "latest", per_page: 100 });
  const checks = all.filter((check) => !isOwnCheck(check.name) && (required.length === 0 || required.includes(check.name)));
  const missing = required.filter((name) => !checks.some((check) => check.name === name));
  if (checks.length === 0 && required.length === 0) {
    if (!context.lastAttempt) throw new RetryLaterError(`no checks reported on ${effect.sha.slice(0, 7)} yet`);
    return { type: "ci.finished", at: context.now(), sha: effect.sha, conclusion: "success", failing: [] };
  }
  if (missing.length > 0 || checks.some((check) => check.status !== "completed")) {
    context.log.info({ missing, running: checks.filter((check) => check.status !== "completed").map((check) => check.name) }, "CI still running");
    return null;
  }
  const failing = checks.filter((check) => !GREEN.has(check.conclusion ?? ""));
  const logs = await logNotes(octokit, repoParams(run), failing, context.log);
  const items = failing.map((check, index) => {
    const output = [check.output.title, check.output.summary, check.output.text].filter(Boolean).join("\n").trim();
    const excerpt = output.length > EXCERPT ? `${output.slice(0, EXCERPT)}…` : output;
    // The first line names the check (the round's summary lists these); the rest is for the agent.
    return [`${check.name} (${check.conclusion})`, check.html_url, excerpt, logs[index]].filter(Boolean).join("\n");
  });
  return { type: "ci.finished", at: context.now(), sha: effect.sha, conclusion: failing.length ? "failure" : "success", failing: items };
}
