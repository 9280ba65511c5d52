// Log excerpts of failing GitHub Actions jobs in the red-CI feedback, GitHub faked at HTTP level:
// the logs endpoint's redirect to the results storage, its error answers (expired, forbidden,
// failing), and the caps per round. A log that cannot be read never fails the CI evaluation.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { evaluateCi } from "../../src/app/effects/ci.js";
import { actionsJobId, downloadJobLog, logNotes, LOGS_PER_ROUND, LOGS_TOTAL_BYTES } from "../../src/app/effects/ci-logs.js";
import type { GitHubContext } from "../../src/app/effects/octokit.js";
import { TestOctokit } from "../support/conveyor.js";
import { actionsJob, actionsJobLogs, actionsLogFixture, type JobLogReply } from "../support/github/actions-logs.js";
import { fakeGitHub } from "../support/github/fake-github.js";

const REPO = { owner: "acme", repo: "widgets" };
const LOGS = "GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs";
const silent = pino({ level: "silent" });
const octokit = () => new TestOctokit({ auth: { token: "test-token" } });

/** A failing check run as `commits/{sha}/check-runs` lists it: an Actions job, or another app's. */
function failing(name: string, job?: number) {
  return { name, ...(job ? actionsJob(job) : { id: 7, html_url: `https://ci.example.com/${name}`, details_url: `https://ci.example.com/${name}`, app: { slug: "buildkite" } }) };
}

describe("actionsJobId", () => {
  it("reads the job from an Actions check's details_url, falls back to the check's id, and ignores other apps", () => {
    expect(actionsJobId(actionsJob(24_000_001))).toBe(24_000_001);
    expect(actionsJobId({ id: 24_000_002, app: { slug: "github-actions" }, details_url: null })).toBe(24_000_002);
    expect(actionsJobId({ id: 5, app: { slug: "github-actions" }, details_url: "https://github.com/acme/widgets/actions/runs/1/job/6?pr=43" })).toBe(6);
    expect(actionsJobId(failing("buildkite"))).toBeNull();
    expect(actionsJobId({ id: 5, app: null })).toBeNull();
  });
});

describe("downloadJobLog", () => {
  it("follows GitHub's redirect to the results storage and returns the plain-text log", async () => {
    const gh = actionsJobLogs(fakeGitHub(), { 24_000_001: actionsLogFixture("vitest-failure.txt") });
    const log = await downloadJobLog(octokit(), REPO, 24_000_001);
    // fetch decodes the body as UTF-8, which drops the byte order mark GitHub's logs start with.
    expect(log).toEqual({ ok: true, text: actionsLogFixture("vitest-failure.txt").replace(/^\uFEFF/, "") });
    expect(gh.calls(LOGS).map((call) => call.params.job_id)).toEqual(["24000001"]);
  });

  it.each<[JobLogReply, string]>([
    [{ status: 404 }, "GitHub answered 404: the job's logs have expired or were deleted"],
    [{ status: 410 }, "GitHub answered 410: the job's logs are gone"],
    [{ status: 403 }, "GitHub answered 403: the app may not read this repository's Actions logs (it needs the actions permission)"],
    [{ status: 502 }, "GitHub answered 502"],
  ])("answers why there is no log when GitHub answers %o", async (reply, why) => {
    actionsJobLogs(fakeGitHub(), { 24_000_001: reply });
    expect(await downloadJobLog(octokit(), REPO, 24_000_001)).toEqual({ ok: false, why });
  });
});

describe("logNotes", () => {
  it("gives an Actions job its excerpt, an expired log its reason, and another app's check nothing", async () => {
    actionsJobLogs(fakeGitHub(), { 1: actionsLogFixture("vitest-failure.txt"), 2: { status: 410 } });
    const [vitest, expired, other] = await logNotes(octokit(), REPO, [failing("test", 1), failing("lint", 2), failing("buildkite")], silent);
    expect(vitest).toMatch(/^Log of the step "npm test" \(up to its error; ANSI codes, timestamps and secrets removed\):\n```text\n/);
    expect(vitest).toContain("AssertionError: expected false to be true // Object.is equality");
    expect(vitest).toMatch(/Error: Process completed with exit code 1\.\n```$/);
    expect(expired).toBe("Log: not available (GitHub answered 410: the job's logs are gone).");
    expect(other).toBeNull();
  });

  it(`reads at most ${LOGS_PER_ROUND} logs, and points a job that failed the same way to the first one`, async () => {
    const jobs = Array.from({ length: LOGS_PER_ROUND + 2 }, (_, i) => i + 1);
    const gh = actionsJobLogs(fakeGitHub(), Object.fromEntries(jobs.slice(0, LOGS_PER_ROUND).map((job) => [job, actionsLogFixture("eslint-failure.txt")])));
    const notes = await logNotes(octokit(), REPO, jobs.map((job) => failing(`lint (node ${job})`, job)), silent);
    expect(gh.calls(LOGS)).toHaveLength(LOGS_PER_ROUND);
    expect(notes[0]).toContain("✖ 3 problems (2 errors, 1 warning)");
    expect(notes.slice(1, LOGS_PER_ROUND)).toEqual(Array(LOGS_PER_ROUND - 1).fill("Log: the same excerpt as for lint (node 1)."));
    expect(notes.slice(LOGS_PER_ROUND)).toEqual(Array(2).fill(`Log: not read (at most ${LOGS_PER_ROUND} logs per round; the link above has it).`));
  });

  it(`keeps all excerpts of a round within ${LOGS_TOTAL_BYTES / 1000} KB`, async () => {
    // Five different failures, each with a long failing step of wide lines.
    const wideLog = (job: number) =>
      ["##[group]Run make check", "##[endgroup]", ...Array.from({ length: 80 }, (_, i) => `FAIL job ${job} case ${i} ${"y".repeat(250)}`), "##[error]Process completed with exit code 2."].join("\n");
    const jobs = [1, 2, 3, 4, 5];
    actionsJobLogs(fakeGitHub(), Object.fromEntries(jobs.map((job) => [job, wideLog(job)])));
    const notes = await logNotes(octokit(), REPO, jobs.map((job) => failing(`check ${job}`, job)), silent);
    const excerpts = notes.filter((note) => note?.startsWith("Log of the step"));
    expect(excerpts.length).toBeGreaterThanOrEqual(2);
    expect(Buffer.byteLength(excerpts.join("\n"))).toBeLessThanOrEqual(LOGS_TOTAL_BYTES + excerpts.length * 200); // + the notes' own wording and fences
    expect(notes.at(-1)).toBe(`Log: left out (this round's log excerpts already take ${LOGS_TOTAL_BYTES / 1000} KB; the link above has it).`);
  });
});

describe("evaluateCi with job logs", () => {
  /** Just what evaluateCi reads of the context. */
  function context(): GitHubContext {
    const run = { repo: { id: 1, owner: "acme", name: "widgets", installationId: 1 }, config: null };
    return { run, octokit: octokit(), log: silent, now: () => "2025-03-14T10:30:00.000Z", lastAttempt: false } as unknown as GitHubContext;
  }

  it("an expired log still gives red-CI feedback, with a note that the log was not available", async () => {
    const gh = fakeGitHub();
    const sha = "c".repeat(40);
    const test = { ...actionsJob(24_000_001), name: "test", status: "completed", conclusion: "failure", external_id: "", output: { title: null, summary: null, text: null } };
    gh.on("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", { ...REPO, ref: sha }, { status: 200, body: { total_count: 1, check_runs: [test] } });
    actionsJobLogs(gh, { 24_000_001: { status: 404 } });
    const event = await evaluateCi({ kind: "evaluate-ci", id: "e1", sha } as never, context());
    expect(event).toEqual({
      type: "ci.finished",
      at: "2025-03-14T10:30:00.000Z",
      sha,
      conclusion: "failure",
      failing: [
        [
          "test (failure)",
          "https://github.com/acme/widgets/actions/runs/13890112345/job/24000001",
          "Log: not available (GitHub answered 404: the job's logs have expired or were deleted).",
        ].join("\n"),
      ],
    });
  });
});
