// The whole pipeline through Probot, BullMQ and a real Redis, GitHub faked at HTTP level:
// label → implement → four reviews → CI → approval → merge → close.
import { afterEach, beforeEach, expect, it } from "vitest";
import { fakeGitHub, type FakeGitHub } from "../support/github/fake-github.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import { approval, ci, implementer, ISSUE, KEY, labeled, merging, PR, REPO, repositoryBasics, reviewing, RUN_ID, type Head } from "../support/scenario.js";

let app: TestConveyor;
let gh: FakeGitHub;

beforeEach(async () => {
  gh = fakeGitHub();
  app = await startTestConveyor();
});
afterEach(async () => {
  await app.stop();
});

const HEAD: Head = {
  sha: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
  files: [
    { filename: "src/readme-check.ts", status: "added", patch: "@@ -0,0 +1,3 @@\n+export function hasReadme(files: string[]): boolean {\n+  return files.includes(\"README.md\");\n+}", content: 'export function hasReadme(files: string[]): boolean {\n  return files.includes("README.md");\n}\n' },
    { filename: "test/readme-check.test.ts", status: "added", patch: "@@ -0,0 +1,2 @@\n+import { hasReadme } from \"../src/readme-check.js\";\n+it(\"finds it\", () => expect(hasReadme([\"README.md\"])).toBe(true));", content: 'import { hasReadme } from "../src/readme-check.js";\nit("finds it", () => expect(hasReadme(["README.md"])).toBe(true));\n' },
  ],
};

it("takes a labelled issue to a merged pull request and a closed issue", async () => {
  repositoryBasics(gh);
  // The repository has a pull request template: Conveyor's PR follows it.
  gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...REPO, path: ".github/pull_request_template.md" }, { status: 200, body: "## What changed\n\n## How it was tested\n" });
  const agent = implementer(gh, [HEAD]);
  reviewing(gh);
  ci(gh, { [HEAD.sha]: [{ name: "test", conclusion: "success" }] });
  merging(gh);

  // The label starts the run and dispatches the implementer.
  await app.deliver(labeled());
  await app.waitForRun(KEY, (run) => run.workflowRunId === 501);

  // The agent pushes; its workflow run ends: Conveyor opens the PR and reviews it from four angles,
  // then reads CI on the head and waits for a human's approval.
  agent.push(HEAD);
  await app.deliver(agent.finished(0));
  const waiting = await app.waitForRun(KEY, (run) => run.stage === "approval", 20_000);
  expect(waiting.pr).toEqual({ number: PR, branch: "conveyor/1-spelling-error-in-the-readme-file", headSha: HEAD.sha });
  expect(waiting.reviews.map((review) => [review.angle, review.status]).sort()).toEqual([["architecture", "ok"], ["quality", "ok"], ["security", "ok"], ["techstack", "ok"]]);
  expect(waiting.ci).toEqual({ sha: HEAD.sha, conclusion: "success", failing: [] });

  // A maintainer approves: Conveyor merges and closes the issue with a summary.
  await app.deliver(approval("maintainer", HEAD.sha));
  const done = await app.waitForRun(KEY, (run) => run.state === "done", 20_000);
  await app.settle();
  expect(done).toMatchObject({ id: RUN_ID, stage: "close", round: 0, approvals: [expect.objectContaining({ login: "maintainer", sha: HEAD.sha })] });

  // What GitHub saw.
  const [openPr] = gh.calls("POST /repos/{owner}/{repo}/pulls");
  expect(openPr!.body).toMatchObject({ head: "conveyor/1-spelling-error-in-the-readme-file", base: "main", title: "Spelling error in the README file" });
  expect((openPr!.body as { body: string }).body).toContain(`Closes #${ISSUE}`);
  expect((openPr!.body as { body: string }).body).toMatch(/^## What changed\n\n## How it was tested\n\n---\n/);
  expect(gh.calls("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews")).toHaveLength(1);
  expect(gh.calls("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews")[0]!.body).toMatchObject({ commit_id: HEAD.sha, event: "COMMENT" });
  const checkNames = gh.calls("POST /repos/{owner}/{repo}/check-runs").map((call) => (call.body as { name: string }).name).sort();
  expect(checkNames).toEqual(["Conveyor", "Conveyor / architecture", "Conveyor / quality", "Conveyor / security", "Conveyor / techstack"]);
  const [merge] = gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge");
  expect(merge!.body).toMatchObject({ sha: HEAD.sha, merge_method: "squash" });
  const [close] = gh.calls("PATCH /repos/{owner}/{repo}/issues/{issue_number}");
  expect(close!.body).toMatchObject({ state: "closed", state_reason: "completed" });
  const comments = gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments").map((call) => (call.body as { body: string }).body);
  expect(comments.filter((body) => body.includes(`<!-- conveyor:run=${RUN_ID} -->`))).toHaveLength(1); // one sticky status comment
  const summary = comments.find((body) => body.includes(`<!-- conveyor:summary=${RUN_ID} -->`));
  expect(summary).toMatch(/\| 0 \| initial: first implementation \|/);
  for (const angle of ["architecture", "security", "quality", "techstack"]) expect(summary).toMatch(new RegExp(`\\| ${angle} \\| ok \\| 0 \\|`));
  expect(summary).toMatch(/- approvals: @maintainer/);
  expect(summary).toMatch(/- fix rounds: 0/);
  expect(agent.dispatches).toBe(1);

  // The run's event log tells the same story.
  const history = await app.conveyor.engine.store.history(KEY);
  const applied = history.flatMap((entry) => (entry.kind === "outcome" && entry.outcome.applied ? [entry.outcome.type] : []));
  for (const type of ["issue.labeled", "config.loaded", "implement.dispatched", "implement.completed", "implement.finished", "pr.opened", "review.finished", "ci.finished", "permission.checked", "merge.finished", "close.finished"]) {
    expect(applied).toContain(type);
  }
  gh.done();
}, 60_000);
