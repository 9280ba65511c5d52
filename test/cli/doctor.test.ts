// `conveyor doctor` as a process: Redis, credentials, webhook secret, the app on GitHub and, per
// installed repository, its config and implementer workflow. GitHub is the fake GitHub server on
// loopback (test/support/fake-github-server.ts), reached through GHE_HOST: every request it gets
// is checked against GitHub's OpenAPI description.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, inject } from "vitest";
import { appCredentials } from "../support/app-env.js";
import { startFakeGitHubServer, type FakeGitHubServer, type FakeGitHubServerOptions } from "../support/fake-github-server.js";
import { freePort } from "../support/redis-server.js";
import { runCli } from "./run-cli.js";

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8");
const CALLER = fixture("workflows/conveyor-implement.yml");
const WORKFLOW = ".github/workflows/conveyor-implement.yml";

/** The caller example the README shows under "Implementer workflow". */
function readmeCaller(): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Implementer workflow"));
  return /```yaml\n([\s\S]*?)```/.exec(section)![1]!.trimEnd();
}

let gh: FakeGitHubServer | null = null;
afterEach(async () => {
  await gh?.close();
  gh = null;
});

interface Report {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string; warning?: boolean; repo?: string; problems?: { field: string | null; message: string; fix: string }[] }[];
}

/** Runs `conveyor doctor` with working credentials against a fake GitHub holding these repositories. */
async function doctor(options: FakeGitHubServerOptions, args: string[] = []) {
  gh = await startFakeGitHubServer(options);
  const { appId, privateKey, secret } = appCredentials();
  const result = await runCli(["doctor", ...args], { REDIS_URL: inject("redisUrl"), APP_ID: appId, PRIVATE_KEY: privateKey, WEBHOOK_SECRET: secret, GHE_HOST: gh.host, GHE_PROTOCOL: "http" });
  return { ...result, privateKey, byName: () => Object.fromEntries((JSON.parse(result.stdout) as Report).checks.map((check) => [check.name, check])) };
}

describe("conveyor doctor", { timeout: 120_000 }, () => {
  it("passes when Redis, the credentials, the secret, the installations and every repository are fine", async () => {
    const result = await doctor({
      // One item a page, so the installations and repositories are only all seen through pagination.
      maxPerPage: 1,
      repos: [
        { id: 1, owner: "acme", name: "widgets", files: { ".github/conveyor.yml": "label: ship-it\nimplement:\n  workflow: agent.yml\n", ".github/workflows/agent.yml": CALLER } },
        { id: 2, owner: "acme", name: "gadgets", files: { [WORKFLOW]: CALLER } },
        { id: 3, owner: "umbrella", name: "corp", files: { [WORKFLOW]: CALLER } },
      ],
      installations: [
        { id: 77, account: "acme", repos: ["acme/widgets", "acme/gadgets"] },
        { id: 78, account: "umbrella", repos: ["umbrella/corp"] },
      ],
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines).toContain("✓ redis eviction: maxmemory-policy noeviction");
    expect(lines).toContain("! redis persistence: appendonly is off: runs survive a Redis restart only with AOF (appendonly yes, appendfsync everysec)");
    expect(lines).toContain("✓ app credentials: App ID 12345, private key readable");
    expect(lines).toContain(`✓ github app: Conveyor Test (conveyor-test) on ${gh!.baseUrl}`);
    expect(lines).toContain("✓ installations: acme (77), umbrella (78)");
    expect(lines).toContain("✓ installation acme (77): 2 repositories");
    expect(lines).toContain('✓ acme/widgets config: .github/conveyor.yml is valid (label "ship-it", implementer agent.yml)');
    expect(lines).toContain("✓ acme/widgets workflow: .github/workflows/agent.yml is active and takes workflow_dispatch with run_id, round, issue, branch, feedback on the default branch");
    expect(lines).toContain('✓ acme/gadgets config: no .github/conveyor.yml: every setting is its default (label "conveyor", implementer conveyor-implement.yml)');
    expect(lines).toContain(`✓ acme/gadgets workflow: ${WORKFLOW} is active and takes workflow_dispatch with run_id, round, issue, branch, feedback on the default branch`);
    expect(lines).toContain("✓ umbrella/corp workflow: .github/workflows/conveyor-implement.yml is active and takes workflow_dispatch with run_id, round, issue, branch, feedback on the default branch");
    expect(result.stdout).not.toContain(result.privateKey.split("\n")[1]!);
    // Each installation's repositories through its own token, page by page.
    expect(gh!.counts()).toMatchObject({ "list-installations": 2, "access-token": 2, "list-installation-repos": 3, "get-workflow": 3 });
    expect(gh!.problems()).toEqual([]);
  });

  it("names each invalid field of a repository's config and says what to do; exit 1; --json for scripts", async () => {
    const config = "lable: ship-it\nreview:\n  blockOn: high\nlimits:\n  maxFixRounds: 50\n";
    const repos = [
      { id: 1, owner: "acme", name: "widgets", files: { ".github/conveyor.yml": config, [WORKFLOW]: CALLER } },
      { id: 2, owner: "acme", name: "gadgets", files: { ".github/conveyor.yml": "review: [unclosed\n", [WORKFLOW]: CALLER } },
    ];
    const people = await doctor({ repos });
    expect(people.code).toBe(1);
    const lines = people.stdout.split("\n");
    expect(lines).toContain("✗ acme/widgets config: .github/conveyor.yml has 3 problems: labelled issues in acme/widgets get an error comment and no run until it is fixed (the implementer workflow is checked once it is)");
    expect(lines).toContain('    .github/conveyor.yml › review.blockOn: Invalid option: expected one of "nit"|"minor"|"major"|"blocker"');
    expect(lines).toContain("      → set review.blockOn to one of: nit, minor, major, blocker");
    expect(lines).toContain("      → lower limits.maxFixRounds to at most 20");
    expect(lines).toContain('      → remove "lable" from the top level, or correct the spelling (every field and its default are in the README, "Configuring a repository")');
    expect(people.stdout).not.toContain("acme/widgets workflow");
    expect(people.stdout).toMatch(/✗ acme\/gadgets config: .*a problem/);
    expect(people.stdout).toContain("invalid YAML");
    expect(lines).toContain("      → make .github/conveyor.yml valid YAML with a mapping at the top (an editor with YAML support shows where it breaks)");
    await gh!.close();

    const json = await doctor({ repos }, ["--json"]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as Report).ok).toBe(false);
    const check = json.byName()["acme/widgets config"]!;
    expect(check).toMatchObject({ ok: false, repo: "acme/widgets" });
    expect(check.problems!.map((problem) => problem.field)).toEqual(expect.arrayContaining([null, "limits.maxFixRounds", "review.blockOn"]));
    expect(check.problems).toHaveLength(3);
    expect(check.problems!.find((problem) => problem.field === "review.blockOn")).toEqual({
      field: "review.blockOn",
      message: '.github/conveyor.yml › review.blockOn: Invalid option: expected one of "nit"|"minor"|"major"|"blocker"',
      fix: "set review.blockOn to one of: nit, minor, major, blocker",
    });
    expect(json.byName()["acme/widgets workflow"]).toBeUndefined();
    expect(gh!.problems()).toEqual([]);
  });

  it("says how to add a missing implementer workflow, quoting the README, and finds one without workflow_dispatch or its inputs", async () => {
    const pushOnly = CALLER.replace(/^on:\n {2}workflow_dispatch:/m, "on:\n  push:\n  workflow_call:");
    const noFeedback = CALLER.replace(/^ {6}feedback:\n(?: {8}.*\n)+/m, "");
    expect(pushOnly).not.toContain("workflow_dispatch");
    expect(noFeedback).not.toMatch(/^ {6}feedback:\n {8}/m);
    const result = await doctor({
      repos: [
        { id: 1, owner: "acme", name: "widgets", files: {} },
        { id: 2, owner: "acme", name: "gadgets", files: { [WORKFLOW]: pushOnly } },
        { id: 3, owner: "acme", name: "sprockets", files: { [WORKFLOW]: noFeedback } },
      ],
    });
    expect(result.code).toBe(1);
    const lines = result.stdout.split("\n");
    expect(lines).toContain('✓ acme/widgets config: no .github/conveyor.yml: every setting is its default (label "conveyor", implementer conveyor-implement.yml)');
    expect(lines).toContain(`✗ acme/widgets workflow: ${WORKFLOW} is not in acme/widgets (GitHub answered 404), so no implement round can start.`);
    expect(lines).toContain(`    Save a caller of Conveyor's reusable workflow as ${WORKFLOW} on the default branch; the README's example:`);
    // The README's caller, line for line (indented under the check).
    for (const line of readmeCaller().split("\n")) expect(lines).toContain(`    ${line}`);
    expect(lines).toContain('    Its complete form, with the workflow_dispatch inputs (run_id, round, issue, branch, feedback), is in docs/implementer.md, "Add the caller".');
    expect(lines).toContain(
      `✗ acme/gadgets workflow: ${WORKFLOW} does not take workflow_dispatch: add it under "on:" with the inputs run_id, round, issue, branch, feedback (docs/implementer.md, "Add the caller"); Conveyor starts every implement round with a dispatch`,
    );
    expect(lines).toContain(
      `✗ acme/sprockets workflow: ${WORKFLOW}'s workflow_dispatch does not declare the input feedback: GitHub refuses a dispatch with inputs the workflow does not declare; add it (docs/implementer.md, "Add the caller")`,
    );
    expect(gh!.problems()).toEqual([]);
  });

  it("reports a failed listing of installations or of an installation's repositories (GitHub 5xx) and exits 1", async () => {
    const repos = [{ id: 1, owner: "acme", name: "widgets", files: { [WORKFLOW]: CALLER } }];
    const installations = await doctor({ repos, errorRate: 1, errorKinds: ["list-installations"] }, ["--json"]);
    expect(installations.code).toBe(1);
    expect(installations.byName().installations).toEqual({
      name: "installations",
      ok: false,
      detail:
        "listing the app's installations (GET /app/installations) failed: GitHub answered 502 (Server Error (injected by the fake GitHub server)): a problem on GitHub's side or on the way there, not in your setup; run conveyor doctor again in a few minutes (https://www.githubstatus.com); the repositories were not checked",
    });
    expect(installations.byName()["github app"]).toMatchObject({ ok: true });
    await gh!.close();

    const repositories = await doctor({ repos, installations: [{ id: 77, account: "acme", repos: ["acme/widgets"] }], errorRate: 1, errorKinds: ["list-installation-repos"] });
    expect(repositories.code).toBe(1);
    expect(repositories.stdout.split("\n")).toContain(
      "✗ installation acme (77): listing its repositories (GET /installation/repositories) failed: GitHub answered 502 (Server Error (injected by the fake GitHub server)): a problem on GitHub's side or on the way there, not in your setup; run conveyor doctor again in a few minutes (https://www.githubstatus.com); its repositories were not checked",
    );
    expect(repositories.stdout).toContain("✓ installations: acme (77)");
    expect(repositories.stdout).not.toContain("acme/widgets");
  });

  it("says what to fix: no credentials, no secret, unreachable Redis; exit 1; --json for scripts", async () => {
    const port = await freePort();
    const result = await runCli(["doctor", "--json"], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.ok).toBe(false);
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    expect(byName.redis).toMatchObject({ ok: false, detail: expect.stringContaining(`cannot reach Redis at redis://127.0.0.1:${port}`) });
    expect(byName["app credentials"]).toMatchObject({ ok: false, detail: expect.stringContaining("register the app") });
    expect(byName["webhook secret"]).toMatchObject({ ok: false, detail: expect.stringContaining("WEBHOOK_SECRET is not set") });
    expect(byName["github app"]).toBeUndefined();
  });

  it("reports an app that is installed nowhere, and an invalid environment", async () => {
    const [bare, invalid] = await Promise.all([doctor({ installations: [] }), runCli(["doctor"], { REDIS_URL: "http://nope" })]);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toContain("✗ installations: the app is not installed anywhere: install it on a repository from its page (https://github.com/apps/conveyor-test)");
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain("✗ environment:");
    expect(invalid.stdout).toContain("REDIS_URL: a redis:// or rediss:// URL");
  });
});
