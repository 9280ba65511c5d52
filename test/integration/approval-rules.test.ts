// Who may approve: the check-permission effect against GitHub's API (faked with nock).
import { afterAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { checkPermission } from "../../src/app/effects/permission.js";
import type { GitHubContext } from "../../src/app/effects/octokit.js";
import { RepoConfig } from "../../src/pipeline/config.js";
import type { Run } from "../../src/pipeline/run.js";
import { fakeGitHub } from "../support/github/fake-github.js";
import { TestOctokit } from "../support/conveyor.js";
import { testEngine } from "../support/engine.js";

const { engine, close } = testEngine();
afterAll(close);

const repo = { owner: "acme", repo: "widgets" };
const SHA = "f".repeat(40);

function runWith(approval: Record<string, unknown>): Run {
  const at = "2026-11-22T10:00:00.000Z";
  return {
    id: "501-3-1", generation: 1, version: 9, label: "conveyor",
    repo: { id: 501, owner: "acme", name: "widgets", installationId: 9 },
    issue: { number: 3, title: "Add a widget" }, startedBy: "alice",
    stage: "approval", state: "active", round: 0, config: RepoConfig.parse({ approval }),
    pr: { number: 12, branch: "conveyor/3-add-a-widget", headSha: SHA }, workflowRunId: 1,
    reviews: [], ci: null, approvals: [], feedback: null, rounds: [], tokens: 0, deferred: [], reason: null,
    createdAt: at, updatedAt: at, stageStartedAt: at,
  };
}

function context(run: Run): GitHubContext {
  return { run, issueKey: "501-3", store: engine.store, log: pino({ level: "silent" }), octokit: new TestOctokit({ auth: { token: "t" } }), now: () => "2026-11-22T11:00:00.000Z", lastAttempt: false };
}

const approve = (login: string) => ({ kind: "check-permission" as const, id: "e1", login, subject: { kind: "review" as const, reviewId: 77, state: "approved" as const, sha: SHA, body: "", comments: [] } });
const write = (gh: ReturnType<typeof fakeGitHub>, login: string, permission = "write") =>
  gh.on("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { ...repo, username: login }, { status: 200, body: { permission, role_name: permission, user: { login } } });

describe("approval rules", () => {
  it("with no rules, anyone with write access may approve", async () => {
    const gh = fakeGitHub();
    write(gh, "bob");
    const event = await checkPermission(approve("bob"), context(runWith({})));
    expect(event).toMatchObject({ type: "permission.checked", permission: "write", eligible: { ok: true } });
  });

  it("separation of duties: the person who started the run may not approve it", async () => {
    const gh = fakeGitHub();
    write(gh, "alice");
    const event = await checkPermission(approve("alice"), context(runWith({ separationOfDuties: true })));
    expect(event).toMatchObject({ eligible: { ok: false, why: expect.stringMatching(/separation of duties/) } });
  });

  it("listed teams: a member counts, a non-member is told who may approve", async () => {
    const gh = fakeGitHub();
    write(gh, "carol");
    write(gh, "dave");
    gh.on("GET /orgs/{org}/teams/{team_slug}/memberships/{username}", { org: "acme", team_slug: "reviewers", username: "carol" }, { status: 200, body: { state: "active", role: "member", url: "" } });
    gh.on("GET /orgs/{org}/teams/{team_slug}/memberships/{username}", { org: "acme", team_slug: "reviewers", username: "dave" }, { status: 404, body: { message: "Not Found" } });
    const rules = { from: { teams: ["acme/reviewers"] } };
    expect(await checkPermission(approve("carol"), context(runWith(rules)))).toMatchObject({ eligible: { ok: true, why: "member of acme/reviewers" } });
    expect(await checkPermission(approve("dave"), context(runWith(rules)))).toMatchObject({ eligible: { ok: false, why: "approvals must come from @acme/reviewers" } });
  });

  it("code owners of the changed paths may approve; owners of other paths may not", async () => {
    const gh = fakeGitHub();
    write(gh, "erin");
    write(gh, "frank");
    const codeowners = "* @frank\n/src/ @erin\n";
    for (let i = 0; i < 2; i++) {
      gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path: ".github/CODEOWNERS" }, { status: 200, body: codeowners });
      gh.on("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", { ...repo, pull_number: 12 }, { status: 200, body: [{ filename: "src/widget.ts", status: "added", sha: "1", additions: 1, deletions: 0, changes: 1, blob_url: "", raw_url: "", contents_url: "" }] });
    }
    const rules = { from: { codeowners: true } };
    expect(await checkPermission(approve("erin"), context(runWith(rules)))).toMatchObject({ eligible: { ok: true, why: "code owner (@erin)" } });
    expect(await checkPermission(approve("frank"), context(runWith(rules)))).toMatchObject({ eligible: { ok: false, why: expect.stringMatching(/code owners of the changed files/) } });
  });

  it("a read-only reviewer is not asked about eligibility at all", async () => {
    const gh = fakeGitHub();
    write(gh, "gina", "read");
    const event = await checkPermission(approve("gina"), context(runWith({ from: { teams: ["acme/reviewers"] } })));
    expect(event).toMatchObject({ permission: "read" });
    expect(event).not.toHaveProperty("eligible");
  });

  it("requested changes carry the review's inline comments as feedback", async () => {
    const gh = fakeGitHub();
    write(gh, "hank");
    gh.on("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments", { ...repo, pull_number: 12, review_id: 77 }, { status: 200, body: [{ id: 1, path: "src/widget.ts", line: 4, body: "Handle the empty case." }] });
    const effect = { ...approve("hank"), subject: { ...approve("hank").subject, state: "changes_requested" as const, body: "Needs work" } };
    const event = await checkPermission(effect, context(runWith({})));
    expect(event).toMatchObject({ subject: { state: "changes_requested", comments: ["src/widget.ts:4 Handle the empty case."] } });
  });
});
