// GitHub Actions jobs as the checks API and the logs endpoint show them. A job's check run carries
// the `github-actions` app and links the job's page; `GET …/actions/jobs/{job_id}/logs` answers 302
// with a short-lived Location on GitHub's results storage (an Azure blob), and that URL answers the
// plain-text log. Octokit follows the redirect, so both hops are faked here.
import { readFileSync } from "node:fs";
import nock from "nock";
import type { FakeGitHub } from "./fake-github.js";

const RESULTS_STORAGE = "https://productionresultssa0.blob.core.windows.net";
/** The workflow run the fake jobs belong to. */
export const ACTIONS_RUN_ID = 13_890_112_345;

/** The check run fields that make a check an Actions job (id, app, links). */
export function actionsJob(jobId: number, owner = "acme", repo = "widgets") {
  const page = `https://github.com/${owner}/${repo}/actions/runs/${ACTIONS_RUN_ID}/job/${jobId}`;
  return {
    id: jobId,
    html_url: page,
    details_url: page,
    app: { id: 15368, slug: "github-actions", name: "GitHub Actions", owner: { login: "github", id: 9919 } },
  };
}

/** A job log fixture from test/fixtures/actions-logs/. */
export function actionsLogFixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/actions-logs/${name}`, import.meta.url), "utf8");
}

/** What the logs endpoint answers for one job: the log text, or an error status. */
export type JobLogReply = string | { status: 403 | 404 | 410 | 500 | 502 | 503 };

const MESSAGES: Record<number, string> = {
  403: "Must have admin rights to Repository.",
  404: "Not Found",
  410: "The logs for this run have expired and are no longer available.",
  500: "Server Error",
  502: "Server Error",
  503: "Service Unavailable",
};

/** A stable fake GUID per job for the storage path, as GitHub's results service names blobs. */
function guid(jobId: number, salt: number): string {
  const hex = `${jobId.toString(16)}${salt}`.padStart(32, "0").slice(-32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Answers the logs of these jobs, any number of times (CI may be evaluated more than once for a
 * head). A log is served from the results storage behind the 302; an error status is GitHub's own
 * answer, with its JSON error body.
 */
export function actionsJobLogs(gh: FakeGitHub, logs: Record<number, JobLogReply>, repo = { owner: "acme", repo: "widgets" }): FakeGitHub {
  for (const [key, reply] of Object.entries(logs)) {
    const jobId = Number(key);
    const params = { ...repo, job_id: jobId };
    if (typeof reply !== "string") {
      const body = { message: MESSAGES[reply.status], documentation_url: "https://docs.github.com/rest/actions/workflow-jobs#download-job-logs-for-a-workflow-run", status: String(reply.status) };
      gh.on("GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs", params, { status: reply.status, body }, { persist: true });
      continue;
    }
    const path = `/actions-results/${guid(jobId, 1)}/workflow-job-run-${guid(jobId, 2)}/logs/job/job-logs.txt`;
    const signed = "rsct=text%2Fplain&se=2025-03-14T10%3A31%3A11Z&sig=fBvuzLUo2B0mibkr5IEPw%2F8DF7HuZqgBY3Bq2jZmdmk%3D&sp=r&spr=https&sr=b&st=2025-03-14T10%3A21%3A06Z&sv=2021-12-02";
    gh.on("GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs", params, { status: 302, body: "", headers: { location: `${RESULTS_STORAGE}${path}?${signed}` } }, { persist: true });
    nock(RESULTS_STORAGE).persist().get(path).query(true).reply(200, reply, { "content-type": "text/plain" });
  }
  return gh;
}
