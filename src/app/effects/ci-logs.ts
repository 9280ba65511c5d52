// Log excerpts of the failing GitHub Actions jobs, for the feedback of a red-CI fix round: which
// checks are Actions jobs, downloading their logs, and a note per check that says what the log
// shows or why there is none. A log that cannot be read never fails the CI evaluation. The
// excerpts are capped per check and per round because the feedback travels to the implementer as
// a workflow_dispatch input, and GitHub caps all inputs of a dispatch together at 65,535
// characters.
import { EXCERPT_LIMITS, excerptOfLog, fenced, type ExcerptLimits } from "./log-excerpt.js";
import type { Logger } from "pino";
import type { Octokit } from "./octokit.js";

/** A GitHub Actions check run's job id, or null for a check another app reported. */
export function actionsJobId(check: { id: number; app?: { slug?: string } | null; details_url?: string | null }): number | null {
  if (check.app?.slug !== "github-actions") return null;
  // details_url is the job's page, …/actions/runs/<run>/job/<job>; the check run's id is the job's too.
  const match = /\/actions\/runs\/\d+\/job\/(\d+)(?:[/?#]|$)/.exec(check.details_url ?? "");
  return match ? Number(match[1]) : check.id;
}

export type JobLog = { ok: true; text: string } | { ok: false; why: string };

/** How long one log download may take before the evaluation goes on without it. */
export const LOG_DOWNLOAD_TIMEOUT_MS = 20_000;

/**
 * Downloads a job's log. GitHub answers with a redirect to a short-lived URL, which Octokit
 * follows. A failure is an answer, not an error: CI is evaluated without the log.
 */
export async function downloadJobLog(octokit: Octokit, repo: { owner: string; repo: string }, jobId: number): Promise<JobLog> {
  try {
    const response = await octokit.request("GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs", {
      ...repo,
      job_id: jobId,
      request: { signal: AbortSignal.timeout(LOG_DOWNLOAD_TIMEOUT_MS) },
    });
    const data = response.data as unknown;
    if (typeof data === "string") return { ok: true, text: data };
    if (data instanceof ArrayBuffer) return { ok: true, text: new TextDecoder().decode(data) };
    return { ok: false, why: `GitHub answered ${response.status} without a text log` };
  } catch (error) {
    return { ok: false, why: whyNoLog(error) };
  }
}

function whyNoLog(error: unknown): string {
  const status = (error as { status?: number }).status;
  if (status === 404) return "GitHub answered 404: the job's logs have expired or were deleted";
  if (status === 410) return "GitHub answered 410: the job's logs are gone";
  if (status === 403) return "GitHub answered 403: the app may not read this repository's Actions logs (it needs the actions permission)";
  if (status !== undefined) return `GitHub answered ${status}`;
  const name = (error as { name?: string }).name ?? "";
  const causeName = ((error as { cause?: { name?: string } }).cause?.name) ?? "";
  if ([name, causeName].some((n) => n === "TimeoutError" || n === "AbortError")) return `the download took longer than ${LOG_DOWNLOAD_TIMEOUT_MS / 1000} s`;
  return `the download failed: ${error instanceof Error ? error.message : String(error)}`;
}


/** All log excerpts of one round together: the names, outputs and links fit beside them. */
export const LOGS_TOTAL_BYTES = 16_000;
/** Logs downloaded per evaluation at most: a matrix of twenty red jobs mostly fails one way. */
export const LOGS_PER_ROUND = 5;
/** Below this many bytes left in the round's budget, an excerpt is left out rather than cut. */
const SMALLEST_EXCERPT = 500;

export interface FailingCheck {
  id: number;
  name: string;
  app?: { slug?: string } | null;
  details_url?: string | null;
}

/**
 * One note per failing check, in order: the log excerpt of an Actions job, or why there is none;
 * null for a check another app reported (it has no Actions log).
 */
export async function logNotes(octokit: Octokit, repo: { owner: string; repo: string }, checks: FailingCheck[], log: Logger): Promise<(string | null)[]> {
  const jobs = checks.map((check) => actionsJobId(check));
  const wanted = jobs.flatMap((job, index) => (job === null ? [] : [index])).slice(0, LOGS_PER_ROUND);
  const downloads = new Map(await Promise.all(wanted.map(async (index) => [index, await downloadJobLog(octokit, repo, jobs[index]!)] as const)));
  let left = LOGS_TOTAL_BYTES;
  const seen = new Map<string, string>();
  return checks.map((check, index) => {
    if (jobs[index] === null) return null;
    const download = downloads.get(index);
    if (!download) return `Log: not read (at most ${LOGS_PER_ROUND} logs per round; the link above has it).`;
    if (!download.ok) {
      log.warn({ check: check.name, jobId: jobs[index] }, `no log excerpt for ${check.name}: ${download.why}`);
      return `Log: not available (${download.why}).`;
    }
    if (left < SMALLEST_EXCERPT) return `Log: left out (this round's log excerpts already take ${LOGS_TOTAL_BYTES / 1000} KB; the link above has it).`;
    const limits: ExcerptLimits = { ...EXCERPT_LIMITS, bytes: Math.min(EXCERPT_LIMITS.bytes, left) };
    const excerpt = excerptOfLog(download.text, limits);
    if (!excerpt) return "Log: empty.";
    const text = excerpt.lines.join("\n");
    const same = seen.get(text);
    if (same) return `Log: the same excerpt as for ${same}.`;
    seen.set(text, check.name);
    left -= Buffer.byteLength(text, "utf8");
    const how = excerpt.anchor === "error" ? "up to its error" : "no error marked: the lines that name a failure and its last lines";
    return `Log of the step "${excerpt.step}" (${how}; ANSI codes, timestamps and secrets removed):\n${fenced(excerpt.lines)}`;
  });
}
