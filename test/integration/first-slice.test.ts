// The first slice end to end, over HTTP: a signed webhook → Probot → ingress → Redis log →
// apply job → decide → outbox → effect jobs → GitHub (faked at HTTP level by nock).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeGitHub, type FakeGitHub } from "../support/github/fake-github.js";
import { webhook } from "../support/github/webhooks.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";

const repo = { owner: "Codertocat", repo: "Hello-World" };
const KEY = "186853002-1";

let app: TestConveyor;
let gh: FakeGitHub;

beforeEach(async () => {
  gh = fakeGitHub().installationToken();
  app = await startTestConveyor();
});
afterEach(async () => {
  await app.stop();
});

const labeled = (label = "conveyor") => webhook("issues", "labeled", { label: { name: label } });

function noConfigFile() {
  gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path: ".github/conveyor.yml" }, { status: 404, body: { message: "Not Found" } });
  gh.on("GET /repos/{owner}/{repo}/contents/{path}", { owner: "Codertocat", repo: ".github", path: ".github/conveyor.yml" }, { status: 404, body: { message: "Not Found" } });
}

function implementerDispatch(workflowRunId = 555) {
  // Where the run's branch stands before the agent runs (it does not exist yet).
  gh.on("GET /repos/{owner}/{repo}/branches/{branch}", { ...repo, branch: "conveyor/1-spelling-error-in-the-readme-file" }, { status: 404, body: { message: "Branch not found" } });
  gh.on("GET /repos/{owner}/{repo}", repo, { status: 200, body: { id: 186853002, name: "Hello-World", full_name: "Codertocat/Hello-World", default_branch: "main" } });
  gh.on("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", { ...repo, workflow_id: "conveyor-implement.yml" }, { status: 200, body: { workflow_run_id: workflowRunId, run_url: "", html_url: "" } });
}

/** The sticky comment: created once, then edited in place as often as the run moves. */
function statusComment(id = 101) {
  gh.on("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: 1 }, { status: 200, body: [] });
  gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: 1 }, (request) => ({ status: 201, body: { id, body: (request.body as { body: string }).body } }));
  gh.on("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", { ...repo, comment_id: id }, (request) => ({ status: 200, body: { id, body: (request.body as { body: string }).body } }), { persist: true, optional: true });
}

const lastStatus = () => {
  const edits = gh.calls("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}");
  return (edits.at(-1)!.body as { body: string }).body;
};

describe("labelling an issue", () => {
  it("creates the run, posts one sticky status comment and dispatches the first stage", async () => {
    noConfigFile();
    statusComment();
    implementerDispatch();

    const response = await app.deliver(labeled());
    expect(response.status).toBe(200);

    const run = await app.waitForRun(KEY, (r) => r.workflowRunId === 555);
    expect(run).toMatchObject({ id: "186853002-1-1", stage: "implement", state: "active", round: 0, startedBy: "Codertocat" });
    expect(run.config?.label).toBe("conveyor");
    await app.settle();

    const [comment] = gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments");
    expect((comment!.body as { body: string }).body).toContain("<!-- conveyor:run=186853002-1-1 -->");
    const [dispatch] = gh.calls("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches");
    expect(dispatch!.body).toMatchObject({ ref: "main", return_run_details: true, inputs: { run_id: "186853002-1-1", round: "0", issue: "1", branch: "conveyor/1-spelling-error-in-the-readme-file", feedback: "null" } });
    // The implement deadline is a delayed job, not a repeatable one.
    expect(await app.conveyor.engine.queues.timers.getDelayedCount()).toBe(1);
    gh.done();
  });

  it("applies a redelivered webhook once: one run, one comment", async () => {
    noConfigFile();
    statusComment();
    implementerDispatch();
    const delivery = labeled();

    expect((await app.deliver(delivery)).status).toBe(200);
    expect((await app.deliver(delivery)).status).toBe(200);
    await app.waitForRun(KEY, (r) => r.workflowRunId === 555);
    await app.settle();

    const events = (await app.conveyor.engine.store.history(KEY)).filter((entry) => entry.kind === "event" && entry.event.type === "issue.labeled");
    expect(events).toHaveLength(1);
    expect(gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments")).toHaveLength(1);
    gh.done();
  });

  it("ignores labels other than the trigger label, storing nothing", async () => {
    const response = await app.deliver(labeled("bug"));
    expect(response.status).toBe(200);
    expect(await app.conveyor.engine.store.history(KEY)).toEqual([]);
    expect(await app.conveyor.engine.queues.events.getJobCounts()).toMatchObject({ waiting: 0, active: 0 });
  });

  it("cancels the run when the label is removed and says so in the status comment", async () => {
    noConfigFile();
    statusComment(101);
    implementerDispatch();
    await app.deliver(labeled());
    await app.waitForRun(KEY, (r) => r.workflowRunId === 555);
    await app.settle();

    await app.deliver(webhook("issues", "unlabeled", { label: { name: "conveyor" } }));
    const run = await app.waitForRun(KEY, (r) => r.state === "cancelled");
    expect(run.reason?.what).toMatch(/label removed/);
    await app.settle();

    expect(lastStatus()).toMatch(/cancelled/);
    expect(lastStatus()).toMatch(/label removed by @Codertocat/);
    expect(await app.conveyor.engine.store.activeIssues()).not.toContain(KEY);
    gh.done();
  });

  it("cancels the run when the issue is closed", async () => {
    noConfigFile();
    statusComment(101);
    implementerDispatch();
    await app.deliver(labeled());
    await app.waitForRun(KEY, (r) => r.workflowRunId === 555);
    await app.settle();

    await app.deliver(webhook("issues", "closed", { sender: { login: "octocat", type: "User" } }));
    const run = await app.waitForRun(KEY, (r) => r.state === "cancelled");
    expect(run.reason?.what).toMatch(/closed by @octocat/);
    await app.settle();
    gh.done();
  });

  it("answers an invalid .github/conveyor.yml with a comment naming the field, and starts nothing", async () => {
    const yaml = "label: conveyor\nreview:\n  blockOn: huge\nmerge:\n  method: yolo\n";
    gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path: ".github/conveyor.yml" }, { status: 200, body: yaml });
    gh.on("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: 1 }, { status: 200, body: [] }, { times: 2 });
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...repo, issue_number: 1 }, { status: 201, body: { id: 7 } }, { times: 2 });

    await app.deliver(labeled());
    const run = await app.waitForRun(KEY, (r) => r.state === "failed");
    expect(run.stage).toBe("intake");
    await app.settle();

    const bodies = gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments").map((call) => (call.body as { body: string }).body);
    const explanation = bodies.find((body) => body.includes("review.blockOn"));
    expect(explanation).toMatch(/review\.blockOn/);
    expect(explanation).toMatch(/merge\.method/);
    expect(gh.calls("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")).toHaveLength(0);
    gh.done();
  });
});

describe("the status comment", () => {
  it("is found again by its marker when the ledger is lost, and posted anew when a human deleted it", async () => {
    const marker = "<!-- conveyor:run=186853002-1-1 -->";
    const comments = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments" as const;
    const create = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments" as const;
    const edit = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}" as const;
    const react = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions" as const;
    noConfigFile();
    implementerDispatch();
    // Interceptors answer in the order they are registered: this is the comment's whole life.
    gh.on(comments, { ...repo, issue_number: 1 }, { status: 200, body: [] });
    gh.on(create, { ...repo, issue_number: 1 }, { status: 201, body: { id: 101 } });
    gh.on(edit, { ...repo, comment_id: 101 }, { status: 200, body: { id: 101 } }, { times: 2 });
    gh.on(comments, { ...repo, issue_number: 1 }, { status: 200, body: [{ id: 55, body: "unrelated" }, { id: 101, body: `${marker}\nold` }] });
    gh.on(edit, { ...repo, comment_id: 101 }, { status: 404, body: { message: "Not Found" } });
    gh.on(create, { ...repo, issue_number: 1 }, { status: 201, body: { id: 202 } });
    gh.on(react, { ...repo }, { status: 201, body: { id: 1, content: "+1" } }, { times: 2 });

    await app.deliver(labeled());
    await app.waitForRun(KEY, (r) => r.workflowRunId === 555);
    await app.settle();
    const { store } = app.conveyor.engine;

    // Ledger lost (e.g. Redis restored from an older backup): the marker finds comment 101.
    await store.redis.del(store.keys.ledger(KEY));
    await app.deliver(webhook("issue_comment", "created", { comment: { id: 9001, body: "/conveyor status" } }));
    await app.waitForRun(KEY, (r) => r.version === 4);
    await app.settle();
    expect(gh.calls(create)).toHaveLength(1);
    expect(gh.calls(edit)).toHaveLength(2);

    // The comment was deleted on GitHub: editing it answers 404, so a new one is posted.
    await app.deliver(webhook("issue_comment", "created", { comment: { id: 9002, body: "/conveyor status" } }));
    await app.waitForRun(KEY, (r) => r.version === 5);
    await app.settle();
    expect(gh.calls(create)).toHaveLength(2);
    expect(await store.ledgerGet(KEY, "status-comment:186853002-1-1")).toBe("202");
    gh.done();
  });
});
