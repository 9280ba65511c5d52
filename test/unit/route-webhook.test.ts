// routeWebhook: published GitHub payloads (test/fixtures/webhooks/) → pipeline events.
import { describe, expect, it } from "vitest";
import { issueOfBranch, routeWebhook, type RouteResult, type Routed } from "../../src/app/route-webhook.js";
import { renderStatusComment } from "../../src/app/status-comment.js";
import { RepoConfig } from "../../src/pipeline/config.js";
import { PipelineEvent } from "../../src/pipeline/events.js";
import { Run } from "../../src/pipeline/run.js";
import { webhook } from "../support/github/webhooks.js";

const AT = "2024-05-01T12:00:00.000Z";
// What the published examples carry (Codertocat/Hello-World, installation 1 set by webhook()).
const REPO_ID = 186853002;
const HEAD_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

/** The routed events of a result, each checked against the pipeline's event schema. */
function routedOf(result: RouteResult): Routed[] {
  if (result.status !== "routed") throw new Error(`expected routed, got ${JSON.stringify(result)}`);
  expect(result.routed.length).toBeGreaterThan(0);
  for (const { event } of result.routed) {
    // parse() throws with the failing path if the router built an event decide() would refuse.
    expect(PipelineEvent.parse(event)).toEqual(event);
  }
  return result.routed;
}

function onlyRouted(result: RouteResult): Routed {
  const routed = routedOf(result);
  expect(routed).toHaveLength(1);
  return routed[0]!;
}

function reasonOf(result: RouteResult): string {
  if (result.status !== "ignored") throw new Error(`expected ignored, got ${JSON.stringify(result)}`);
  return result.reason;
}

function problemsOf(result: RouteResult): string[] {
  if (result.status !== "malformed") throw new Error(`expected malformed, got ${JSON.stringify(result)}`);
  return result.problems;
}

/** A mutable copy of a fixture payload, for breaking it in ways the typed patch cannot. */
function rawPayload(name: Parameters<typeof webhook>[0], action: string): Record<string, unknown> {
  return structuredClone((webhook as (n: string, a: string) => { payload: unknown })(name, action).payload) as Record<string, unknown>;
}

describe("issueOfBranch", () => {
  it.each([
    ["conveyor/42-fix-login", 42],
    ["conveyor/42", 42],
    ["conveyor/7-a-b-c", 7],
    ["conveyor/1234-x", 1234],
  ])("%s → issue %i", (branch, issue) => {
    expect(issueOfBranch(branch)).toBe(issue);
  });

  it.each([
    "conveyor/42fix",
    "conveyor/abc",
    "conveyor/",
    "conveyor/-42",
    "feature/42-fix",
    "refs/heads/conveyor/42-fix",
    "xconveyor/42-fix",
    "Conveyor/42-fix",
    "changes",
    "",
  ])("%j is not a Conveyor branch", (branch) => {
    expect(issueOfBranch(branch)).toBeNull();
  });
});

describe("routeWebhook: issues", () => {
  it("labeled → issue.labeled carrying repo, issue and actor; it may start a run", () => {
    const result = routeWebhook("issues", webhook("issues", "labeled", { label: { name: "conveyor" }, installation: { id: 77 } }).payload, AT);
    const { route, event, requiresRun } = onlyRouted(result);
    expect(requiresRun).toBe(false);
    expect(route).toEqual({ kind: "issue", repoId: REPO_ID, issue: 1 });
    expect(event).toEqual({
      type: "issue.labeled",
      at: AT,
      label: "conveyor",
      actor: "Codertocat",
      repo: { id: REPO_ID, owner: "Codertocat", name: "Hello-World", installationId: 77 },
      issue: { number: 1, title: "Spelling error in the README file" },
    });
  });

  it("labeled keeps the label as given (the trigger check is ingress's job)", () => {
    const { event } = onlyRouted(routeWebhook("issues", webhook("issues", "labeled").payload, AT));
    expect(event).toMatchObject({ type: "issue.labeled", label: "bug" });
  });

  it("labeled on another repository and issue routes there", () => {
    const payload = webhook("issues", "labeled", {
      repository: { id: 9, name: "widgets", owner: { login: "acme" } },
      issue: { number: 314, title: "Add a widget" },
      sender: { login: "alice" },
    }).payload;
    const { route, event } = onlyRouted(routeWebhook("issues", payload, AT));
    expect(route).toEqual({ kind: "issue", repoId: 9, issue: 314 });
    expect(event).toMatchObject({
      actor: "alice",
      repo: { id: 9, owner: "acme", name: "widgets", installationId: 1 },
      issue: { number: 314, title: "Add a widget" },
    });
  });

  it("unlabeled → issue.unlabeled, which needs an existing run", () => {
    const result = routeWebhook("issues", webhook("issues", "unlabeled", { label: { name: "conveyor" } }).payload, AT);
    const { route, event, requiresRun } = onlyRouted(result);
    expect(requiresRun).toBe(true);
    expect(route).toEqual({ kind: "issue", repoId: REPO_ID, issue: 1 });
    expect(event).toEqual({ type: "issue.unlabeled", at: AT, label: "conveyor", actor: "Codertocat" });
  });

  it.each([
    ["a user", { login: "Codertocat", type: "User" }, false],
    ["a Bot-typed sender", { login: "some-app", type: "Bot" }, true],
    ["a login ending in [bot]", { login: "conveyor[bot]", type: "User" }, true],
    ["a login merely containing bot", { login: "robotnik", type: "User" }, false],
  ] as const)("closed by %s → issue.closed with isBot %s", (_who, sender, isBot) => {
    const { route, event, requiresRun } = onlyRouted(routeWebhook("issues", webhook("issues", "closed", { sender }).payload, AT));
    expect(requiresRun).toBe(true);
    expect(route).toEqual({ kind: "issue", repoId: REPO_ID, issue: 1 });
    expect(event).toEqual({ type: "issue.closed", at: AT, actor: sender.login, isBot });
  });

  it.each(["labeled", "unlabeled", "closed"] as const)("%s on an issue that is a pull request is ignored", (action) => {
    const payload = webhook("issues", action, {
      label: { name: "conveyor" },
      issue: { pull_request: { url: "https://api.github.com/repos/Codertocat/Hello-World/pulls/1" } },
    } as never).payload;
    expect(reasonOf(routeWebhook("issues", payload, AT))).toMatch(/pull request/);
  });

  it.each(["opened", "edited", "reopened", "assigned", "deleted"])("issues.%s is ignored with a reason naming it", (action) => {
    const payload = { ...rawPayload("issues", "labeled"), action };
    expect(reasonOf(routeWebhook("issues", payload, AT))).toBe(`issues.${action} does not affect runs`);
  });

  it("labeled without a label is ignored rather than routed with no label", () => {
    const payload = rawPayload("issues", "labeled");
    delete payload.label;
    expect(reasonOf(routeWebhook("issues", payload, AT))).toMatch(/issues\.labeled/);
  });
});

describe("routeWebhook: issue_comment", () => {
  it("created with a command → command.received routed to the issue", () => {
    const payload = webhook("issue_comment", "created", { comment: { body: "/conveyor pause" } }).payload;
    const { route, event, requiresRun } = onlyRouted(routeWebhook("issue_comment", payload, AT));
    expect(requiresRun).toBe(true);
    expect(route).toEqual({ kind: "issue", repoId: REPO_ID, issue: 1 });
    expect(event).toEqual({
      type: "command.received",
      at: AT,
      login: "Codertocat",
      isBot: false,
      command: { name: "pause", args: [], commentId: 492700400, text: "/conveyor pause" },
    });
  });

  it("on a pull request → routed to the pull request by number", () => {
    const payload = webhook("issue_comment", "created", {
      comment: { body: "/conveyor retry" },
      issue: { number: 12, pull_request: { url: "https://api.github.com/repos/Codertocat/Hello-World/pulls/12" } },
    } as never).payload;
    const { route, event } = onlyRouted(routeWebhook("issue_comment", payload, AT));
    expect(route).toMatchObject({ kind: "pull", repoId: REPO_ID, pr: 12 });
    expect(event).toMatchObject({ type: "command.received", command: { name: "retry" } });
  });

  it("the commenter, not the sender, is the command's author, and a bot commenter is flagged", () => {
    const payload = webhook("issue_comment", "created", {
      comment: { body: "/conveyor cancel", user: { login: "helper[bot]", type: "Bot" } },
      sender: { login: "Codertocat" },
    }).payload;
    const { event } = onlyRouted(routeWebhook("issue_comment", payload, AT));
    expect(event).toMatchObject({ type: "command.received", login: "helper[bot]", isBot: true });
  });

  it("several commands in one comment → one event each, in order, all on the same route", () => {
    const payload = webhook("issue_comment", "created", { comment: { body: "/conveyor pause\nthanks!\n/conveyor fix the tests" } }).payload;
    const routed = routedOf(routeWebhook("issue_comment", payload, AT));
    expect(routed.map(({ event }) => (event.type === "command.received" ? [event.command.name, event.command.args] : event.type))).toEqual([
      ["pause", []],
      ["fix", ["the", "tests"]],
    ]);
    expect(new Set(routed.map(({ route }) => JSON.stringify(route))).size).toBe(1);
  });

  it("an edited comment is ignored even when it now holds a command", () => {
    const payload = webhook("issue_comment", "edited", { comment: { body: "/conveyor cancel" } }).payload;
    expect(reasonOf(routeWebhook("issue_comment", payload, AT))).toMatch(/edited/);
  });

  it("a deleted comment is ignored", () => {
    const payload = { ...rawPayload("issue_comment", "created"), action: "deleted", comment: { id: 1, body: "/conveyor cancel", user: { login: "x" } } };
    expect(routeWebhook("issue_comment", payload, AT).status).toBe("ignored");
  });

  it.each([
    ["prose", "You are totally right! I'll get this fixed right away."],
    ["a quoted command", "> /conveyor cancel\nno, don't"],
    ["a fenced command", "```\n/conveyor cancel\n```"],
    ["another prefix", "/other pause"],
  ])("a comment with %s and no command is ignored", (_what, body) => {
    const payload = webhook("issue_comment", "created", { comment: { body } }).payload;
    expect(reasonOf(routeWebhook("issue_comment", payload, AT))).toBe("no command in the comment");
  });

  it("a comment with a null body is ignored, not malformed", () => {
    const payload = rawPayload("issue_comment", "created");
    (payload.comment as Record<string, unknown>).body = null;
    expect(reasonOf(routeWebhook("issue_comment", payload, AT))).toBe("no command in the comment");
  });

  // A repository configured with another prefix is told in its status comment to type
  // `/ship pause`; ingress passes that prefix, and only that prefix is obeyed.
  it("accepts the command prefix the status comment advertises for the repository", () => {
    const config = RepoConfig.parse({ commandPrefix: "/ship" });
    const run = Run.parse({
      id: `${REPO_ID}-1-1`, generation: 1, version: 1,
      repo: { id: REPO_ID, owner: "Codertocat", name: "Hello-World", installationId: 1 },
      issue: { number: 1, title: "t" }, startedBy: "Codertocat", label: "conveyor",
      stage: "review", state: "active", round: 0, config, pr: null, workflowRunId: null,
      reviews: [], ci: null, approvals: [], feedback: null, rounds: [], tokens: 0, deferred: [],
      reason: null, createdAt: AT, updatedAt: AT, stageStartedAt: AT,
    });
    const advertised = /`([^`]+ pause)`/.exec(renderStatusComment(run))?.[1];
    expect(advertised).toBe("/ship pause");
    const payload = webhook("issue_comment", "created", { comment: { body: advertised! } }).payload;
    expect(routeWebhook("issue_comment", payload, AT, { commandPrefix: "/ship" }).status).toBe("routed");
    const conveyorPrefix = webhook("issue_comment", "created", { comment: { body: "/conveyor pause" } }).payload;
    expect(routeWebhook("issue_comment", conveyorPrefix, AT, { commandPrefix: "/ship" }).status).toBe("ignored");
  });
});

describe("routeWebhook: pull_request", () => {
  it("synchronize → pr.pushed with the new head sha, routed by PR number and branch", () => {
    const payload = webhook("pull_request", "synchronize", {
      pull_request: { number: 8, head: { ref: "conveyor/42-fix-login", sha: "abc1234def" } },
      sender: { login: "alice" },
    }).payload;
    const { route, event, requiresRun } = onlyRouted(routeWebhook("pull_request", payload, AT));
    expect(requiresRun).toBe(true);
    expect(route).toEqual({ kind: "pull", repoId: REPO_ID, pr: 8, branch: "conveyor/42-fix-login" });
    expect(event).toEqual({ type: "pr.pushed", at: AT, headSha: "abc1234def", actor: "alice" });
  });

  it("synchronize on the published example carries its head sha", () => {
    const { event } = onlyRouted(routeWebhook("pull_request", webhook("pull_request", "synchronize").payload, AT));
    expect(event).toMatchObject({ type: "pr.pushed", headSha: HEAD_SHA });
  });

  it.each([
    [true, true],
    [false, false],
    [null, false],
  ])("closed with merged %s → pr.closed merged %s", (merged, expected) => {
    const payload = rawPayload("pull_request", "closed");
    (payload.pull_request as Record<string, unknown>).merged = merged;
    const { route, event, requiresRun } = onlyRouted(routeWebhook("pull_request", payload, AT));
    expect(requiresRun).toBe(true);
    expect(route).toEqual({ kind: "pull", repoId: REPO_ID, pr: 2, branch: "changes" });
    expect(event).toEqual({ type: "pr.closed", at: AT, merged: expected, actor: "Codertocat" });
  });

  it.each(["opened", "edited", "labeled", "reopened"])("pull_request.%s is ignored with a reason naming it", (action) => {
    const payload = { ...rawPayload("pull_request", "opened"), action };
    expect(reasonOf(routeWebhook("pull_request", payload, AT))).toBe(`pull_request.${action} does not affect runs`);
  });
});

describe("routeWebhook: pull_request_review", () => {
  it.each([
    ["approved", "approved"],
    ["APPROVED", "approved"],
    ["changes_requested", "changes_requested"],
    ["CHANGES_REQUESTED", "changes_requested"],
    ["commented", "commented"],
    ["Commented", "commented"],
  ] as const)("submitted with state %s → review.submitted %s", (state, expected) => {
    const payload = webhook("pull_request_review", "submitted", {
      review: { id: 55, state, body: "looks good", commit_id: "feedface" },
      pull_request: { number: 8, head: { ref: "conveyor/42-x", sha: "feedface" } },
    } as never).payload;
    const { route, event, requiresRun } = onlyRouted(routeWebhook("pull_request_review", payload, AT));
    expect(requiresRun).toBe(true);
    expect(route).toEqual({ kind: "pull", repoId: REPO_ID, pr: 8, branch: "conveyor/42-x" });
    expect(event).toEqual({
      type: "review.submitted",
      at: AT,
      login: "Codertocat",
      isBot: false,
      review: { kind: "review", reviewId: 55, state: expected, sha: "feedface", body: "looks good", comments: [] },
    });
  });

  it("the published example (state commented, null body) → an empty body", () => {
    const { event } = onlyRouted(routeWebhook("pull_request_review", webhook("pull_request_review", "submitted").payload, AT));
    expect(event).toMatchObject({ type: "review.submitted", review: { reviewId: 237895671, state: "commented", body: "", sha: HEAD_SHA } });
  });

  it.each([
    [{ login: "reviewer-app[bot]", type: "User" }],
    [{ login: "reviewer", type: "Bot" }],
  ])("a bot reviewer %j is flagged isBot", (user) => {
    const payload = webhook("pull_request_review", "submitted", { review: { state: "approved", user } } as never).payload;
    const { event } = onlyRouted(routeWebhook("pull_request_review", payload, AT));
    expect(event).toMatchObject({ type: "review.submitted", login: user.login, isBot: true });
  });

  it("the reviewer, not the sender, is the review's author", () => {
    const payload = webhook("pull_request_review", "submitted", {
      review: { state: "approved", user: { login: "bob", type: "User" } },
      sender: { login: "someone-else" },
    } as never).payload;
    expect(onlyRouted(routeWebhook("pull_request_review", payload, AT)).event).toMatchObject({ login: "bob", isBot: false });
  });

  it("a review by a deleted user (null) routes as ghost and never counts as a human", () => {
    const payload = rawPayload("pull_request_review", "submitted");
    (payload.review as Record<string, unknown>).user = null;
    (payload.review as Record<string, unknown>).state = "approved";
    expect(onlyRouted(routeWebhook("pull_request_review", payload, AT)).event).toMatchObject({ login: "ghost", isBot: true });
  });

  it.each(["dismissed", "pending", "DISMISSED"])("submitted with state %s is ignored", (state) => {
    const payload = rawPayload("pull_request_review", "submitted");
    (payload.review as Record<string, unknown>).state = state;
    expect(reasonOf(routeWebhook("pull_request_review", payload, AT))).toBe(`review state ${state} does not affect runs`);
  });

  it("dismissed → review.dismissed with the review id", () => {
    const { route, event, requiresRun } = onlyRouted(routeWebhook("pull_request_review", webhook("pull_request_review", "dismissed").payload, AT));
    expect(requiresRun).toBe(true);
    expect(route).toEqual({ kind: "pull", repoId: REPO_ID, pr: 2, branch: "changes" });
    expect(event).toEqual({ type: "review.dismissed", at: AT, reviewId: 237895671 });
  });

  it("edited is ignored with a reason naming it", () => {
    const payload = { ...rawPayload("pull_request_review", "submitted"), action: "edited" };
    expect(reasonOf(routeWebhook("pull_request_review", payload, AT))).toBe("pull_request_review.edited does not affect runs");
  });
});

describe("routeWebhook: workflow runs and checks", () => {
  it("workflow_run.completed → implement.completed routed by workflow run id and name, plus CI reports for its PRs", () => {
    const payload = webhook("workflow_run", "completed", {
      repository: { id: 186853002 },
      workflow_run: { id: 30433642, display_title: "conveyor 186853002-1-1 round 0", conclusion: "success", head_sha: "abc123", html_url: "https://github.com/x/y/actions/runs/30433642" },
    }).payload as Record<string, unknown>;
    (payload.workflow_run as Record<string, unknown>).pull_requests = [{ number: 5 }];
    const routed = routedOf(routeWebhook("workflow_run", payload, AT));
    expect(routed.map((one) => one.route)).toEqual([
      { kind: "workflow-run", repoId: 186853002, workflowRunId: 30433642, runName: "conveyor 186853002-1-1 round 0" },
      { kind: "pull", repoId: 186853002, pr: 5, branch: "" },
    ]);
    expect(routed[0]!.event).toEqual({ type: "implement.completed", at: AT, workflowRunId: 30433642, runName: "conveyor 186853002-1-1 round 0", conclusion: "success", url: "https://github.com/x/y/actions/runs/30433642" });
    expect(routed[1]!.event).toEqual({ type: "ci.reported", at: AT, sha: "abc123", check: "conveyor 186853002-1-1 round 0" });
    for (const one of routed) expect(PipelineEvent.parse(one.event)).toEqual(one.event);
  });

  it("workflow_run.requested is ignored", () => {
    expect(reasonOf(routeWebhook("workflow_run", webhook("workflow_run", "requested").payload, AT))).toBe("workflow_run.requested does not affect runs");
  });

  it("check_suite.completed → one ci.reported per pull request", () => {
    const routed = routedOf(routeWebhook("check_suite", webhook("check_suite", "completed").payload, AT));
    expect(routed).toEqual([{ route: { kind: "pull", repoId: 186853002, pr: 2, branch: "" }, requiresRun: true, event: expect.objectContaining({ type: "ci.reported", sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821" }) }]);
  });

  it("check_run.completed → ci.reported, except Conveyor's own check runs", () => {
    const routed = routedOf(routeWebhook("check_run", webhook("check_run", "completed").payload, AT));
    expect(routed.map((one) => one.event)).toEqual([{ type: "ci.reported", at: AT, sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", check: "Octocoders-linter" }]);
    for (const name of ["Conveyor", "Conveyor / security"]) {
      const own = webhook("check_run", "completed", { check_run: { name } }).payload;
      expect(reasonOf(routeWebhook("check_run", own, AT))).toBe("Conveyor's own check runs are not CI");
    }
  });

  it("a check suite on no pull request is ignored", () => {
    const payload = webhook("check_suite", "completed").payload as Record<string, unknown>;
    (payload.check_suite as Record<string, unknown>).pull_requests = [];
    expect(reasonOf(routeWebhook("check_suite", payload, AT))).toBe("the check suite is on no pull request");
  });
});

describe("routeWebhook: events Conveyor does not handle", () => {
  it.each([
    ["push", () => webhook("push", undefined).payload],
    ["installation", () => webhook("installation", "created").payload],
    ["made_up_event", () => ({})],
  ])("%s is ignored with a reason naming it", (name, payload) => {
    expect(routeWebhook(name, payload(), AT)).toEqual({ status: "ignored", reason: `${name} events are not handled` });
  });
});

describe("routeWebhook: malformed payloads", () => {
  type Break = (payload: Record<string, unknown>) => void;
  const at = (payload: Record<string, unknown>, key: string) => payload[key] as Record<string, unknown>;

  it.each<[string, Parameters<typeof webhook>[0], string, Break, string]>([
    ["repository.id missing", "issues", "labeled", (p) => delete at(p, "repository").id, "repository.id"],
    ["repository.id a string", "issues", "labeled", (p) => (at(p, "repository").id = "186853002"), "repository.id"],
    ["repository.owner.login missing", "issues", "closed", (p) => delete at(at(p, "repository"), "owner").login, "repository.owner.login"],
    ["installation missing", "issues", "labeled", (p) => delete p.installation, "installation"],
    ["sender missing", "issues", "unlabeled", (p) => delete p.sender, "sender"],
    ["issue.number a string", "issues", "labeled", (p) => (at(p, "issue").number = "1"), "issue.number"],
    ["issue.number zero", "issues", "labeled", (p) => (at(p, "issue").number = 0), "issue.number"],
    ["issue.title missing", "issues", "labeled", (p) => delete at(p, "issue").title, "issue.title"],
    ["comment.id missing", "issue_comment", "created", (p) => delete at(p, "comment").id, "comment.id"],
    ["comment.user missing", "issue_comment", "created", (p) => delete at(p, "comment").user, "comment.user"],
    ["installation missing on a comment", "issue_comment", "created", (p) => delete p.installation, "installation"],
    ["pull_request.head.sha missing", "pull_request", "synchronize", (p) => delete at(at(p, "pull_request"), "head").sha, "pull_request.head.sha"],
    ["pull_request.number a string", "pull_request", "closed", (p) => (at(p, "pull_request").number = "2"), "pull_request.number"],
    ["review.id missing", "pull_request_review", "submitted", (p) => delete at(p, "review").id, "review.id"],
    ["review.commit_id missing", "pull_request_review", "submitted", (p) => delete at(p, "review").commit_id, "review.commit_id"],
    ["repository.id missing on a review", "pull_request_review", "dismissed", (p) => delete at(p, "repository").id, "repository.id"],
  ])("%s → malformed, naming the path", (_what, name, action, breakIt, path) => {
    const payload = rawPayload(name, action);
    breakIt(payload);
    const problems = problemsOf(routeWebhook(name, payload, AT));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((problem) => problem.startsWith(`${path}: `))).toBe(true);
  });

  it("reports every problem, one per path", () => {
    const payload = rawPayload("issues", "labeled");
    delete at(payload, "repository").id;
    delete payload.installation;
    at(payload, "issue").number = "1";
    const paths = problemsOf(routeWebhook("issues", payload, AT)).map((problem) => problem.split(": ")[0]);
    expect(paths.sort()).toEqual(["installation", "issue.number", "repository.id"]);
  });

  it("a payload that is not an object at all is malformed at (payload)", () => {
    expect(problemsOf(routeWebhook("pull_request", "not json", AT))).toEqual([expect.stringMatching(/^\(payload\): /)]);
  });

  it("fields Conveyor does not read may be anything", () => {
    const payload = webhook("issues", "closed", { issue: { body: null, labels: [] } } as never).payload;
    (payload as Record<string, unknown>).surprise = { new: "field" };
    expect(routeWebhook("issues", payload, AT).status).toBe("routed");
  });
});
