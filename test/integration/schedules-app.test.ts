// Schedules through the whole app: signed webhooks → Probot → schedule jobs → GitHub (nock,
// checked against GitHub's OpenAPI description) and Redis. Sync on push and installation,
// invalid schedules reported in one issue naming them, and `/conveyor schedules …` comments.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeGitHub, type FakeGitHub } from "../support/github/fake-github.js";
import { webhook } from "../support/github/webhooks.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import { syncInput } from "../support/schedules.js";
import type { Schedulers } from "../../src/queue/schedulers.js";

const repo = { owner: "Codertocat", repo: "Hello-World" };
const REPO_ID = 186853002;
const REF = { id: REPO_ID, owner: "Codertocat", name: "Hello-World", installationId: 1 };
const SHA1 = "1".repeat(40);
const SHA2 = "2".repeat(40);

let app: TestConveyor;
let gh: FakeGitHub;
let schedulers: Schedulers;

beforeEach(async () => {
  gh = fakeGitHub().installationToken();
  app = await startTestConveyor();
  schedulers = app.conveyor.scheduling!.schedulers;
});
afterEach(async () => {
  await app.stop();
});

async function until<T>(probe: () => Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function push(options: { ref?: string; files?: string[] } = {}) {
  const delivery = webhook("push", undefined, { ref: options.ref ?? "refs/heads/master" });
  (delivery.payload as unknown as { commits: unknown[] }).commits = [{ id: "c1", added: [], removed: [], modified: options.files ?? [".github/conveyor.yml"] }];
  return delivery;
}

function configAt(sha: string, yaml: string) {
  gh.on("GET /repos/{owner}/{repo}/branches/{branch}", { ...repo, branch: "master" }, { status: 200, body: { name: "master", commit: { sha }, protected: false } });
  gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path: ".github/conveyor.yml" }, { status: 200, body: yaml }, { query: { ref: sha } });
}

const INVALID = `
schedules:
  - id: weekly-deps
    cron: "0 9 * * 1"
    timezone: Europe/Berlin
    openIssue:
      title: "Dependency review {{date}}"
  - id: typo-cron
    cron: "0 9 * * mon-fry"
    openIssue: { title: x }
  - id: nowhere
    cron: "0 9 * * 1"
    timezone: Europe/Atlantis
    openIssue: { title: x }
  - id: weekly-deps
    every: 1d
    openIssue: { title: y }
  - id: hammering
    every: 30s
    labelIssues: { query: "label:bug" }
  - id: triage
    every: 6h
    labelIssues: { query: "no:label", limit: 5 }
`;

const FIXED = `
label: conveyor
schedules:
  - id: weekly-deps
    cron: "0 9 * * 1"
    timezone: Europe/Berlin
    openIssue:
      title: "Dependency review {{date}}"
  - id: triage
    every: 6h
    labelIssues: { query: "no:label", limit: 5 }
`;

describe("syncing schedules from .github/conveyor.yml", () => {
  it("registers on a push to the default branch, reports invalid schedules by name in one issue, and closes it once fixed", async () => {
    configAt(SHA1, INVALID);
    gh.on("POST /repos/{owner}/{repo}/issues", repo, { status: 201, body: { number: 9 } });
    expect((await app.deliver(push())).status).toBe(200);

    const listing = await until(async () => {
      const l = await schedulers.list(REPO_ID);
      return l.version === SHA1 ? l : null;
    }, "the first sync");
    // The duplicate id refuses both "weekly-deps"; the others still register.
    expect(listing.schedules.map((s) => s.spec.id)).toEqual(["triage"]);
    expect((await app.conveyor.engine.queues.events.getJobSchedulers()).map((s) => s.key)).toContain("sweep");
    await until(async () => gh.calls("POST /repos/{owner}/{repo}/issues").length === 1, "the problems issue");
    const problems = gh.calls("POST /repos/{owner}/{repo}/issues")[0]!.body as { title: string; body: string };
    expect(problems.title).toBe("Conveyor: problems in the schedules of .github/conveyor.yml");
    expect(problems.body).toContain('schedule "typo-cron" (schedules[1]): cron: invalid cron "0 9 * * mon-fry"');
    expect(problems.body).toContain('schedule "nowhere" (schedules[2]): timezone: unknown time zone "Europe/Atlantis"');
    expect(problems.body).toContain('schedule "weekly-deps" (schedules[0]): duplicate id "weekly-deps"');
    expect(problems.body).toContain('schedule "hammering" (schedules[4]): every: every 30s is below the minimum period of 5m');
    expect(problems.body).toContain("Registered and firing: `triage`.");

    // Pushes elsewhere, or not touching the config, change nothing and call nothing.
    await app.deliver(push({ files: ["README.md"] }));
    await app.deliver(push({ ref: "refs/heads/feature" }));

    configAt(SHA2, FIXED);
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: 9 }, { status: 201, body: { id: 1 } });
    gh.on("PATCH /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: 9 }, { status: 200, body: { number: 9, state: "closed" } });
    await app.deliver(push());
    const fixed = await until(async () => {
      const l = await schedulers.list(REPO_ID);
      return l.version === SHA2 ? l : null;
    }, "the second sync");
    expect(fixed.schedules.map((s) => [s.spec.id, s.version])).toEqual([
      ["triage", SHA2],
      ["weekly-deps", SHA2],
    ]);
    expect(fixed.problems).toEqual([]);
    await until(async () => gh.calls("PATCH /repos/{owner}/{repo}/issues/{issue_number}").length === 1, "closing the problems issue");
    expect(gh.calls("PATCH /repos/{owner}/{repo}/issues/{issue_number}")[0]!.body).toMatchObject({ state: "closed" });
    expect(await app.conveyor.scheduling!.schedulers.queue.getJobScheduler(`s-${REPO_ID}-weekly-deps`)).toMatchObject({ pattern: "0 9 * * 1", tz: "Europe/Berlin" });
    gh.done();
  });

  it("syncs the repositories of a new installation, and removes their schedules when they are removed from it", async () => {
    gh.on("GET /repos/{owner}/{repo}", repo, { status: 200, body: { id: REPO_ID, name: "Hello-World", full_name: "Codertocat/Hello-World", default_branch: "master" } });
    configAt(SHA1, FIXED);
    await app.deliver(webhook("installation", "created"));
    await until(async () => (await schedulers.list(REPO_ID)).version === SHA1, "the installation sync");
    const repoSchedulers = async () => (await schedulers.queue.getJobSchedulers()).filter((s) => s.key.startsWith(`s-${REPO_ID}-`)).length;
    expect(await repoSchedulers()).toBe(2);

    const removed = webhook("installation_repositories", "added", { repositories_added: [] } as never);
    Object.assign(removed.payload, { action: "removed", repositories_removed: [{ id: REPO_ID, node_id: "x", name: "Hello-World", full_name: "Codertocat/Hello-World", private: false }] });
    await app.deliver(removed);
    await until(async () => (await repoSchedulers()) === 0, "the removal");
    expect(await schedulers.repositories()).toEqual([]);
    gh.done();
  });
});

describe("the periodic resync", () => {
  it("lists the app's installations and their repositories (JWT, then installation tokens) and syncs each", async () => {
    gh.on("GET /app/installations", {}, (request) => {
      expect(String(request.headers.authorization)).toMatch(/^bearer /i);
      return { status: 200, body: [{ id: 1, account: { login: "Codertocat" } }] };
    });
    gh.on("GET /installation/repositories", {}, { status: 200, body: { total_count: 1, repositories: [{ id: REPO_ID, name: "Hello-World", full_name: "Codertocat/Hello-World", owner: { login: "Codertocat" } }] } });
    gh.on("GET /repos/{owner}/{repo}", repo, { status: 200, body: { id: REPO_ID, name: "Hello-World", full_name: "Codertocat/Hello-World", default_branch: "master" } });
    configAt(SHA1, FIXED);
    expect(await app.conveyor.scheduling!.handlers.resyncAll({ kind: "resync-all" })).toEqual({ queued: 1 });
    await until(async () => (await schedulers.list(REPO_ID)).version === SHA1, "the resync");
    expect((await schedulers.list(REPO_ID)).schedules.map((s) => s.spec.id)).toEqual(["triage", "weekly-deps"]);
    gh.done();
  });
});

describe("/conveyor schedules in an issue comment", () => {
  const comment = (body: string, user = "Codertocat", id = 700 + Math.floor(Math.random() * 1e6)) =>
    webhook("issue_comment", "created", { comment: { id, body, user: { login: user, type: "User" }, created_at: "2026-11-20T10:00:00Z" } });

  function replies() {
    return gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments").map((call) => (call.body as { body: string }).body);
  }

  beforeEach(async () => {
    await schedulers.sync(REF, syncInput([{ id: "nightly", cron: "0 3 * * *", timezone: "Europe/Berlin", openIssue: { title: "Nightly {{date}}" } }, { id: "triage", every: "6h", labelIssues: { query: "no:label" } }], SHA1, 300_000));
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: 1 }, { status: 201, body: { id: 1 } }, { persist: true });
  });

  it("lists the schedules with their next fire times in their time zones, for a user with write access", async () => {
    gh.on("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { ...repo, username: "Codertocat" }, { status: 200, body: { permission: "write", role_name: "write" } });
    await app.deliver(comment("Thanks!\n/conveyor schedules"));
    const [reply] = await until(async () => (replies().length ? replies() : null), "the reply");
    expect(reply).toContain("### Schedules of Codertocat/Hello-World");
    expect(reply).toMatch(/\| `nightly` \| cron 0 3 \* \* \* \(Europe\/Berlin\) \| \d{4}-\d{2}-\d{2} 03:00 GMT\+1 \| active \| opens "Nightly \{\{date\}\}" \| never \|/);
    expect(reply).toMatch(/\| `triage` \| every 6h \| \d{4}-\d{2}-\d{2} (00|06|12|18):00 UTC \| active \|/);
    gh.done();
  });

  it("triggers a schedule once even when the comment is delivered twice, and acknowledges it", async () => {
    gh.on("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { ...repo, username: "Codertocat" }, { status: 200, body: { permission: "admin", role_name: "admin" } });
    gh.on("POST /repos/{owner}/{repo}/issues", repo, { status: 201, body: { number: 31 } });
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repo, issue_number: 31 }, { status: 200, body: [] });
    const delivery = comment("/conveyor schedules trigger nightly");
    await app.deliver(delivery);
    await app.deliver(delivery);
    await until(async () => (await schedulers.history(REPO_ID, "nightly", 1))[0]?.outcome === "fired", "the firing");
    await until(async () => replies().length === 1, "the reply");
    expect(replies()[0]).toMatch(/Triggered `nightly` \(firing `186853002-nightly-\d+`\)/);
    expect((gh.calls("POST /repos/{owner}/{repo}/issues")[0]!.body as { title: string }).title).toBe("Nightly 2026-11-20");
    const [entry] = await schedulers.history(REPO_ID, "nightly", 1);
    expect(entry).toMatchObject({ reason: "trigger", tasks: [31], version: SHA1, scheduledFor: Date.parse("2026-11-20T10:00:00Z") });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(gh.calls("POST /repos/{owner}/{repo}/issues")).toHaveLength(1);
    expect(replies()).toHaveLength(1);
    gh.done();
  });

  it("pauses, resumes and backfills, and refuses users without write access", async () => {
    gh.on("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { ...repo, username: "visitor" }, { status: 200, body: { permission: "read", role_name: "triage" } });
    gh.on("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { ...repo, username: "Codertocat" }, { status: 200, body: { permission: "write", role_name: "write" } }, { times: 2 });
    // The backfilled firings open their issues.
    gh.on("POST /repos/{owner}/{repo}/issues", repo, (request) => ({ status: 201, body: { number: (request.body as { title: string }).title.endsWith("01") ? 41 : 42 } }), { times: 2 });
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", repo, { status: 200, body: [] }, { times: 2 });
    await app.deliver(comment("/conveyor schedules pause nightly", "visitor"));
    await until(async () => replies().length === 1, "the refusal");
    // A triage user (GitHub's legacy field says "read") is told their real role, as the approval gate reads it.
    expect(replies()[0]).toContain("@visitor schedule commands need write access to this repository (you have triage); nothing was changed.");
    expect((await schedulers.list(REPO_ID)).schedules.find((s) => s.spec.id === "nightly")!.status).toBe("active");

    await app.deliver(comment("/conveyor schedules pause nightly"));
    await until(async () => replies().length === 2, "the pause reply");
    expect(replies()[1]).toContain("Paused `nightly`");
    expect(await schedulers.queue.getJobScheduler(`s-${REPO_ID}-nightly`)).toBeUndefined();

    await app.deliver(comment("/conveyor schedules resume nightly\n/conveyor schedules backfill nightly 2026-11-01 2026-11-02\n/conveyor schedules backfill nightly soon later"));
    await until(async () => replies().length === 3, "the resume reply");
    expect(replies()[2]).toMatch(/Resumed `nightly`; next fire \d{4}-\d{2}-\d{2} 03:00 GMT\+1/);
    expect(replies()[2]).toContain("Backfilling `nightly`: 2 due times (2026-11-01 03:00 GMT+1, 2026-11-02 03:00 GMT+1)");
    expect(replies()[2]).toContain("Cannot read `soon` as a time");
    await until(async () => (await schedulers.history(REPO_ID, "nightly", 10)).filter((e) => e.outcome === "fired").length === 2, "the backfilled firings");
    const fired = (await schedulers.history(REPO_ID, "nightly", 10)).filter((e) => e.outcome === "fired");
    expect(fired.map((e) => [e.reason, new Date(e.scheduledFor).toISOString(), e.tasks]).sort()).toEqual([
      ["backfill", "2026-11-01T02:00:00.000Z", [41]],
      ["backfill", "2026-11-02T02:00:00.000Z", [42]],
    ]);
    expect(gh.calls("POST /repos/{owner}/{repo}/issues").map((c) => (c.body as { title: string }).title).sort()).toEqual(["Nightly 2026-11-01", "Nightly 2026-11-02"]);
    gh.done();
  });
});
