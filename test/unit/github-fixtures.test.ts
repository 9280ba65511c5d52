// Proves the GitHub test doubles check what they claim to: fake-github.ts against GitHub's
// OpenAPI description, webhooks.ts against the published payloads and the signature scheme.
import { generateKeyPairSync } from "node:crypto";
import { readdirSync } from "node:fs";
import { verify } from "@octokit/webhooks-methods";
import { Probot, ProbotOctokit } from "probot";
import { describe, expect, it } from "vitest";
import { fakeGitHub, type GitHubOperation } from "../support/github/fake-github.js";
import { deepMerge, loadWebhookFixture, signedRequest, signPayload, webhook } from "../support/github/webhooks.js";

const API = "https://api.github.com";
const COMMENTS = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments";
const MERGE = "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge";
const repo = { owner: "acme", repo: "widgets" };

// Probot's documented test setup leaves throttling on; the function form switches it off.
const TestOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { enabled: false },
}));

function octokit(baseUrl = API) {
  return new TestOctokit({ auth: { token: "test-token" }, baseUrl });
}

async function send(method: string, path: string, body?: unknown, base = API) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

describe("fakeGitHub: registering interceptors", () => {
  it("throws for an operation that is not in the OpenAPI subset", () => {
    const gh = fakeGitHub({ autoVerify: false });
    expect(() => gh.on("GET /repos/{owner}/{repo}/teleport" as GitHubOperation, repo)).toThrow(
      /"GET \/repos\/\{owner\}\/\{repo\}\/teleport" is not in test\/fixtures\/github\/openapi-subset\.json/,
    );
    // A real GitHub path, but a method the app does not use: the error names what the path has.
    expect(() =>
      gh.on("PUT /repos/{owner}/{repo}/issues/{issue_number}/labels" as GitHubOperation, repo),
    ).toThrow(/that path has: POST \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\}\/labels/);
    gh.done();
  });

  it("throws for a path parameter the operation does not have", () => {
    const gh = fakeGitHub({ autoVerify: false });
    expect(() => gh.on(COMMENTS, { ...repo, pull_number: 1 } as never)).toThrow(
      /has no path parameter "pull_number" \(it has: owner, repo, issue_number\)/,
    );
    gh.done();
  });
});

describe("fakeGitHub: valid requests", () => {
  it("answers a valid request, records it and passes done()", async () => {
    const gh = fakeGitHub();
    gh.on(COMMENTS, { ...repo, issue_number: 7 }, { body: { id: 42, body: "hello" } });

    const res = await octokit().rest.issues.createComment({ ...repo, issue_number: 7, body: "hello" });

    expect(res.status).toBe(201); // the documented success status is the default
    expect(res.data).toEqual({ id: 42, body: "hello" });
    expect(gh.requests).toHaveLength(1);
    expect(gh.requests[0]).toMatchObject({
      operation: COMMENTS,
      matched: true,
      method: "POST",
      path: "/repos/acme/widgets/issues/7/comments",
      params: { owner: "acme", repo: "widgets", issue_number: "7" },
      body: { body: "hello" },
    });
    expect(gh.requests[0]?.headers.authorization).toBe("token test-token");
    gh.done();
  });

  it("checks the app's whole call set: merge, labels, reactions, dispatch, check runs", async () => {
    const gh = fakeGitHub();
    gh.on(MERGE, { ...repo, pull_number: 3 }, { body: { merged: true, sha: "abc" } })
      .on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repo, issue_number: 3 }, { body: [] })
      .on("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", { ...repo, issue_number: 3, name: "needs human" }, { body: [] })
      .on("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", { ...repo, comment_id: 99 }, { status: 201, body: { id: 1, content: "eyes" } })
      .on("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", { ...repo, workflow_id: "conveyor.yml" }, { body: { workflow_run_id: 555 } })
      .on("POST /repos/{owner}/{repo}/check-runs", repo, { body: { id: 1 } })
      .on("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", { ...repo, check_run_id: 1 }, { body: { id: 1 } })
      .on("DELETE /repos/{owner}/{repo}/git/refs/{ref}", { ...repo, ref: "heads/conveyor/7-fix" });

    const api = octokit();
    await api.rest.pulls.merge({ ...repo, pull_number: 3, merge_method: "squash", sha: "abc" });
    await api.rest.issues.addLabels({ ...repo, issue_number: 3, labels: ["conveyor"] });
    await api.rest.issues.removeLabel({ ...repo, issue_number: 3, name: "needs human" });
    await api.rest.reactions.createForIssueComment({ ...repo, comment_id: 99, content: "eyes" });
    const dispatch = await api.request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", {
      ...repo,
      workflow_id: "conveyor.yml",
      ref: "main",
      inputs: { issue: "7" },
      return_run_details: true,
    });
    await api.rest.checks.create({
      ...repo,
      name: "conveyor / security",
      head_sha: "abc",
      status: "completed",
      conclusion: "neutral",
      output: { title: "t", summary: "s", annotations: [{ path: "a.ts", start_line: 1, end_line: 1, annotation_level: "warning", message: "m" }] },
    });
    await api.rest.checks.update({ ...repo, check_run_id: 1, status: "completed", conclusion: "success" });
    const deleted = await api.rest.git.deleteRef({ ...repo, ref: "heads/conveyor/7-fix" });

    expect(dispatch.data).toEqual({ workflow_run_id: 555 });
    expect(deleted.status).toBe(204);
    expect(gh.requests.map((r) => r.operation)).toHaveLength(8);
    gh.done();
  });

  it("matches a multi-segment path parameter and coerces declared query parameters", async () => {
    const gh = fakeGitHub();
    gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...repo, path: ".github/conveyor.yml" }, { body: { type: "file" } })
      .on("GET /repos/{owner}/{repo}/pulls", repo, { body: [] }, { query: { state: "open" } })
      .on("GET /search/issues", {}, { body: { total_count: 0, items: [] } });

    const api = octokit();
    await api.rest.repos.getContent({ ...repo, path: ".github/conveyor.yml", ref: "main" });
    await api.rest.pulls.list({ ...repo, state: "open", head: "acme:conveyor/7-fix", per_page: 100 });
    await api.rest.search.issuesAndPullRequests({ q: "label:conveyor is:open", per_page: 50 });

    expect(gh.calls("GET /repos/{owner}/{repo}/contents/{path}")[0]?.params.path).toBe(".github/conveyor.yml");
    expect(gh.calls("GET /repos/{owner}/{repo}/pulls")[0]?.query).toMatchObject({ state: "open", per_page: "100" });
    gh.done();
  });

  it("answers with a function of the request, as many times as asked", async () => {
    const gh = fakeGitHub();
    let next = 100;
    gh.on(COMMENTS, repo, (req) => ({ body: { id: next++, body: (req.body as { body: string }).body } }), { times: 2 });

    const api = octokit();
    const a = await api.rest.issues.createComment({ ...repo, issue_number: 1, body: "one" });
    const b = await api.rest.issues.createComment({ ...repo, issue_number: 2, body: "two" });

    expect([a.data, b.data]).toEqual([{ id: 100, body: "one" }, { id: 101, body: "two" }]);
    expect(gh.calls(COMMENTS).map((r) => r.params.issue_number)).toEqual(["1", "2"]);
    gh.done();
  });

  it("works under a GitHub Enterprise Server base path", async () => {
    const base = "https://ghe.example.com/api/v3";
    const gh = fakeGitHub({ baseUrl: base });
    gh.on("GET /repos/{owner}/{repo}/collaborators/{username}/permission", { ...repo, username: "octocat" }, { body: { permission: "write" } });

    const res = await octokit(base).rest.repos.getCollaboratorPermissionLevel({ ...repo, username: "octocat" });

    expect(res.data).toEqual({ permission: "write" });
    expect(gh.requests[0]?.path).toBe("/repos/acme/widgets/collaborators/octocat/permission");
    gh.done();
  });

  it("answers the installation token request Probot sends in app mode", async () => {
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const probot = new Probot({ appId: 1, privateKey, Octokit: TestOctokit });
    const gh = fakeGitHub();
    gh.installationToken({ installationId: 5, token: "ghs_installation" })
      .on("GET /repos/{owner}/{repo}", repo, { body: { full_name: "acme/widgets" } });

    const api = await probot.auth(5);
    const res = await api.rest.repos.get(repo);

    expect(res.data).toEqual({ full_name: "acme/widgets" });
    expect(gh.calls("POST /app/installations/{installation_id}/access_tokens")).toHaveLength(1);
    expect(gh.calls("GET /repos/{owner}/{repo}")[0]?.headers.authorization).toBe("token ghs_installation");
    gh.done();
  });
});

describe("fakeGitHub: requests GitHub's description rejects fail done()", () => {
  it("fails on a comment without its required body", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on(COMMENTS, { ...repo, issue_number: 7 });

    const res = await send("POST", "/repos/acme/widgets/issues/7/comments", { text: "hello" });

    expect(res.status).toBe(422); // answered as GitHub would
    expect(() => gh.done()).toThrow(/body must have required property 'body'/);
    expect(gh.errors.join("\n")).toMatch(/body must NOT have additional properties 'text'/);
  });

  it("fails on an unknown merge_method", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on(MERGE, { ...repo, pull_number: 3 });

    await expect(
      octokit().rest.pulls.merge({ ...repo, pull_number: 3, merge_method: "bogus" as "squash" }),
    ).rejects.toMatchObject({ status: 422 });

    expect(() => gh.done()).toThrow(/body\/merge_method must be equal to one of the allowed values \["merge","squash","rebase"\]/);
  });

  it("fails on a misspelt body field GitHub would silently ignore", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on(MERGE, { ...repo, pull_number: 3 });

    await send("PUT", "/repos/acme/widgets/pulls/3/merge", { merge_mehtod: "squash" });

    expect(() => gh.done()).toThrow(/must NOT have additional properties 'merge_mehtod'/);
  });

  it("fails on a wrongly typed nested field and accepts null where the description allows it", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on("PATCH /repos/{owner}/{repo}/issues/{issue_number}", { ...repo, issue_number: 1 }, { body: {} }, { times: 2 });

    await send("PATCH", "/repos/acme/widgets/issues/1", { body: null, state: "closed", state_reason: "completed" });
    await send("PATCH", "/repos/acme/widgets/issues/1", { labels: [{ name: 5 }] });

    expect(gh.errors).toHaveLength(1);
    expect(() => gh.done()).toThrow(/body\/labels\/0\/name must be string/);
  });

  it("fails on undeclared or invalid query parameters and a missing required one", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on("GET /repos/{owner}/{repo}/pulls", repo, { body: [] }, { times: 2 }).on("GET /search/issues", {}, { body: {} });

    await send("GET", "/repos/acme/widgets/pulls?state=bogus&per_page=ten");
    await send("GET", "/repos/acme/widgets/pulls?labels=x");
    await send("GET", "/search/issues?per_page=5");

    const report = gh.errors.join("\n");
    expect(report).toMatch(/query\/state must be equal to one of the allowed values/);
    expect(report).toMatch(/query\/per_page must be integer/);
    expect(report).toMatch(/query must NOT have additional properties 'labels'/);
    expect(report).toMatch(/query must have required property 'q'/);
    expect(() => gh.done()).toThrow(/fake-github: GitHub was not used as expected/);
  });

  it("fails on a path parameter of the wrong type", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on(COMMENTS, repo); // any issue_number

    await send("POST", "/repos/acme/widgets/issues/abc/comments", { body: "x" });

    expect(() => gh.done()).toThrow(/path parameters\/issue_number must be integer/);
  });

  it("fails on a body sent to an operation that takes none", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: 12 }, { body: {} });

    await send("POST", "/app/hook/deliveries/12/attempts", { force: true });

    expect(() => gh.done()).toThrow(/takes no request body/);
  });
});

describe("fakeGitHub: unused and unmatched", () => {
  it("fails done() on an unused interceptor, not on an optional one", () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on(MERGE, { ...repo, pull_number: 3 })
      .on(COMMENTS, repo, {}, { optional: true })
      .installationToken();

    expect(gh.pending()).toEqual([
      'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge {"owner":"acme","repo":"widgets","pull_number":3} (called 0 of 1 times)',
    ]);
    expect(() => gh.done()).toThrow(/unused interceptor PUT \/repos\/\{owner\}\/\{repo\}\/pulls\/\{pull_number\}\/merge/);
  });

  it("fails done() when used fewer times than asked or a persisted one is never used", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on(COMMENTS, repo, {}, { times: 2 }).on("GET /repos/{owner}/{repo}", repo, {}, { persist: true });

    await send("POST", "/repos/acme/widgets/issues/1/comments", { body: "x" });

    expect(gh.pending()).toEqual([
      `${COMMENTS} {"owner":"acme","repo":"widgets"} (called 1 of 2 times)`,
      'GET /repos/{owner}/{repo} {"owner":"acme","repo":"widgets"} (never called)',
    ]);
    expect(() => gh.done()).toThrow(/unused interceptor/);
  });

  it("records a request no interceptor matches and fails done()", async () => {
    const gh = fakeGitHub({ autoVerify: false });
    gh.on(COMMENTS, { ...repo, issue_number: 7 }, {}, { optional: true });

    await expect(send("POST", "/repos/acme/widgets/issues/8/comments", { body: "x" })).rejects.toThrow();
    await expect(send("GET", "/emojis")).rejects.toThrow();

    expect(gh.requests.map((r) => [r.matched, r.operation, r.path])).toEqual([
      [false, COMMENTS, "/repos/acme/widgets/issues/8/comments"],
      [false, undefined, "/emojis"],
    ]);
    expect(() => gh.done()).toThrow(
      /unmatched request POST \/repos\/acme\/widgets\/issues\/8\/comments \(operation POST .*"issue_number":"8"/,
    );
    expect(gh.errors[1]).toMatch(/unmatched request GET \/emojis \(not an operation in the OpenAPI subset\)/);
  });

  it.fails("verifies by itself when the test finishes (this test must fail)", () => {
    const gh = fakeGitHub();
    gh.on(MERGE, { ...repo, pull_number: 3 });
  });
});

describe("webhook fixtures", () => {
  it("has a published payload for every event and action the app handles", () => {
    const files = readdirSync(new URL("../fixtures/webhooks/", import.meta.url)).filter((f) => f.endsWith(".json"));
    expect(files).toHaveLength(17);
    for (const file of files) {
      const [name, action] = file.replace(/\.json$/, "").split(".");
      const payload = loadWebhookFixture(name as "issues", action);
      expect(payload.action, file).toBe(action);
      expect(payload.sender, file).toBeTypeOf("object");
    }
  });

  it("deep-merges a patch into a copy of the fixture and sets the installation", () => {
    const published = loadWebhookFixture("issues", "labeled");
    const event = webhook("issues", "labeled", {
      label: { name: "conveyor" },
      issue: { number: 42, labels: [] },
      repository: { name: "widgets", owner: { login: "acme" } },
    });

    expect(event.name).toBe("issues");
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.payload.action).toBe("labeled");
    expect(event.payload.label?.name).toBe("conveyor");
    expect(event.payload.issue.number).toBe(42);
    expect(event.payload.issue.labels).toEqual([]); // arrays replace
    expect(event.payload.issue.title).toBe((published.issue as { title: string }).title); // the rest stays
    expect(event.payload.repository.owner.login).toBe("acme");
    expect(event.payload.repository.full_name).toBe("Codertocat/Hello-World");
    expect(event.payload.installation).toEqual({ id: 1, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" });
    expect(webhook("issues", "labeled").payload.label?.name).not.toBe("conveyor"); // fixture untouched
    expect(webhook("issues", "labeled").id).not.toBe(event.id);
  });

  it("keeps an event's own installation object but with the test installation id", () => {
    expect(webhook("installation", "created").payload.installation).toMatchObject({ id: 1, app_id: 29310 });
    expect(webhook("push", undefined, { installation: { id: 7 }, ref: "refs/heads/main" }).payload).toMatchObject({
      ref: "refs/heads/main",
      installation: { id: 7, node_id: Buffer.from("023:IntegrationInstallation7").toString("base64") },
    });
  });

  it("deepMerge replaces scalars and arrays, merges objects and skips undefined", () => {
    const target = { a: { b: 1, c: [1, 2] }, d: "x" };
    expect(deepMerge(target, { a: { c: [3] }, d: undefined, e: null })).toEqual({ a: { b: 1, c: [3] }, d: "x", e: null });
    expect(target).toEqual({ a: { b: 1, c: [1, 2] }, d: "x" });
  });

  it("is accepted by probot.receive()", async () => {
    const probot = new Probot({ githubToken: "test", Octokit: TestOctokit });
    const seen: number[] = [];
    await probot.load((app) => {
      app.on("issues.labeled", async (context) => {
        seen.push(context.payload.issue.number);
      });
    });

    await probot.receive(webhook("issues", "labeled", { issue: { number: 9 } }));

    expect(seen).toEqual([9]);
  });
});

describe("signedRequest", () => {
  const secret = "It's a Secret to Everybody";

  it("signs the body so @octokit/webhooks-methods verify() accepts it", async () => {
    const event = webhook("pull_request", "opened");
    const request = signedRequest(secret, event);

    expect(request.method).toBe("POST");
    expect(request.headers).toMatchObject({
      "content-type": "application/json",
      "x-github-event": "pull_request",
      "x-github-delivery": event.id,
    });
    expect(JSON.parse(request.body)).toEqual(event.payload);
    const signature = request.headers["x-hub-signature-256"] ?? "";
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await verify(secret, request.body, signature)).toBe(true);
    expect(await verify("another secret", request.body, signature)).toBe(false);
  });

  it("matches GitHub's documented test vector", () => {
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    expect(signPayload(secret, "Hello, World!")).toBe(
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    );
  });

  it("is accepted by Probot's own signature check", async () => {
    const probot = new Probot({ githubToken: "test", secret, Octokit: TestOctokit, logLevel: "fatal" });
    const seen: string[] = [];
    await probot.load((app) => {
      app.on("push", async (context) => {
        seen.push(context.payload.ref);
      });
    });
    const event = webhook("push", undefined, { ref: "refs/heads/conveyor/7-fix" });
    const { headers, body } = signedRequest(secret, event);

    await probot.webhooks.verifyAndReceive({
      id: event.id,
      name: event.name,
      payload: body,
      signature: headers["x-hub-signature-256"] ?? "",
    });
    await expect(
      probot.webhooks.verifyAndReceive({ id: event.id, name: event.name, payload: body, signature: signPayload("wrong", body) }),
    ).rejects.toThrow(/signature does not match/);

    expect(seen).toEqual(["refs/heads/conveyor/7-fix"]);
  });
});
