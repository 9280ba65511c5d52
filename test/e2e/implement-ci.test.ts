// Implement and CI stages end to end, through HTTP webhooks, Probot, BullMQ and a real Redis,
// GitHub faked at HTTP level: red CI and fix rounds, an agent that changes nothing, a missing
// implementer workflow, the round cap, and the workflow runs and pushes a run must not be fooled by.
import { describe, expect } from "vitest";
import { approval, BRANCH, ci, implementer, ISSUE, issueComment, KEY, labeled, merging, PR, pushed, REPO, REPO_ID, repositoryBasics, reviewing, RUN_ID, unlabeled, workflowRun, type Head } from "../support/scenario.js";
import { ACTIONS_RUN_ID, actionsJobLogs, actionsLogFixture } from "../support/github/actions-logs.js";
import { added, appliedTypes, dispatches, fromDelivery, it, modified, oneOffComments, outcomeOf, outcomes, reactions, README_TEST, readmeCheck, readmeCheckFixed, reviewsPosted, sha, short, statusBodies, until } from "./helpers.js";

/** Round 0: the agent's first implementation. */
const H1 = readmeCheck("a1");

/** Round 1: the agent's fix (what `compare` lists since H1, and what the PR's files are now). */
const H2 = readmeCheckFixed("b2");

const FAILING_SUMMARY = "1 failed: readme-check › finds a lowercase readme.md (expected true, received false)";
/** The GitHub Actions job behind the "test" check. */
const TEST_JOB = 24_000_001;

describe("implement and CI stages", () => {
  it("red CI starts a fix round with the failing checks and their job log excerpts as feedback; the agent's new head goes green to approval", async ({ app, gh }) => {
    repositoryBasics(gh);
    const agent = implementer(gh, [H1, H2]);
    reviewing(gh);
    ci(gh, {
      [H1.sha]: [
        { name: "test", conclusion: "failure", summary: FAILING_SUMMARY, job: TEST_JOB },
        { name: "lint", conclusion: "success", job: TEST_JOB + 1 },
      ],
      [H2.sha]: [
        { name: "test", conclusion: "success" },
        { name: "lint", conclusion: "success" },
      ],
    });
    actionsJobLogs(gh, { [TEST_JOB]: actionsLogFixture("vitest-failure.txt") }, REPO);

    await app.deliver(labeled());
    await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    agent.push(H1);
    await app.deliver(agent.finished(0));

    // Reviews are clean, CI is red: Conveyor sends the agent back with the failing checks.
    const fixing = await app.waitForRun(KEY, (run) => run.round === 1 && run.workflowRunId === 502, 20_000);
    expect(fixing).toMatchObject({ stage: "implement", state: "active", pr: { number: PR, headSha: H1.sha }, ci: null });
    const [first, second] = dispatches(gh);
    expect(first).toMatchObject({ run_id: RUN_ID, round: "0", issue: String(ISSUE), branch: BRANCH });
    expect(JSON.parse(first!.feedback)).toBeNull();
    expect(second).toMatchObject({ run_id: RUN_ID, round: "1", issue: String(ISSUE), branch: BRANCH });
    const feedback = JSON.parse(second!.feedback) as { source: string; summary: string; items: string[] };
    expect(feedback.source).toBe("ci");
    expect(feedback.summary).toBe(`CI failed on ${short(H1.sha)}: test (failure)`);
    expect(feedback.items).toHaveLength(1); // the green lint check is no feedback
    const [item] = feedback.items;
    expect(item!.split("\n").slice(0, 2)).toEqual(["test (failure)", `https://github.com/${REPO.owner}/${REPO.repo}/actions/runs/${ACTIONS_RUN_ID}/job/${TEST_JOB}`]);
    expect(item).toContain(FAILING_SUMMARY);
    // The failing job's log, cut down to what the agent needs: the failing step up to its error.
    expect(item).toContain('Log of the step "npm test" (up to its error; ANSI codes, timestamps and secrets removed):\n```text\n');
    expect(item).toContain(" FAIL  test/readme-check.test.ts > readme-check > finds a lowercase readme.md");
    expect(item).toContain("AssertionError: expected false to be true // Object.is equality");
    expect(item).toContain("Error: Process completed with exit code 1.\n```");
    expect(item).not.toContain("\u001b");
    expect(new Set(gh.calls("GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs").map((call) => call.params.job_id))).toEqual(new Set([String(TEST_JOB)]));

    // The agent pushes a fix; its workflow run ends; Conveyor updates the PR, reviews the new
    // commits, reads CI on the new head (green) and waits for a human.
    agent.push(H2);
    await app.deliver(agent.finished(1));
    const waiting = await app.waitForRun(KEY, (run) => run.stage === "approval", 20_000);
    await app.settle();
    expect(waiting).toMatchObject({ state: "active", round: 1, pr: { number: PR, branch: BRANCH, headSha: H2.sha }, ci: { sha: H2.sha, conclusion: "success", failing: [] } });
    expect(waiting.rounds.map((round) => [round.round, round.reason])).toEqual([
      [0, "initial"],
      [1, "ci"],
    ]);

    // What GitHub saw: one PR, updated for round 1; a review per head, the second one incremental.
    expect(gh.calls("POST /repos/{owner}/{repo}/pulls")).toHaveLength(1);
    const update = gh.calls("PATCH /repos/{owner}/{repo}/pulls/{pull_number}").at(-1)!.body as { body: string };
    expect(update.body).toContain("fix round 1");
    expect(update.body).toContain(`This round addresses ci feedback: CI failed on ${short(H1.sha)}: test (failure)`);
    // The PR body lists the feedback, each check's lines inside its bullet; the status comment names the check only.
    expect(update.body).toContain(`- test (failure)\n  https://github.com/`);
    expect(update.body).toContain("\n  AssertionError: expected false to be true // Object.is equality\n");
    expect(statusBodies(gh).filter((body) => body.includes("AssertionError"))).toEqual([]);
    expect(reviewsPosted(gh).map((review) => review.commit_id)).toEqual([H1.sha, H2.sha]);
    expect(gh.calls("GET /repos/{owner}/{repo}/compare/{basehead}").map((call) => call.params.basehead)).toContain(`${H1.sha}...${H2.sha}`);
    expect(gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge")).toHaveLength(0);
    expect(agent.dispatches).toBe(2);
    expect(statusBodies(gh).some((body) => body.includes("| Fix round | 1 of 3 |") && body.includes("CI failed on"))).toBe(true);

    // The log tells the same story.
    const history = await app.conveyor.engine.store.history(KEY);
    const ciResults = outcomes(history).filter((outcome) => outcome.type === "ci.finished" && outcome.applied);
    expect(ciResults.map((outcome) => outcome.reason)).toEqual(["ci.finished: ci → implement, fix round 1 (ci)", "ci.finished: ci → approval (0 of 1 approvals)"]);
    expect(appliedTypes(history).filter((type) => type === "implement.dispatched")).toHaveLength(2);
    expect(appliedTypes(history).filter((type) => type === "review.finished")).toHaveLength(2);
    gh.done();
  }, 60_000);

  it("parks as needs-human when the workflow succeeds but the branch did not move, with /conveyor retry as the way out", async ({ app, gh }) => {
    repositoryBasics(gh);
    const agent = implementer(gh, [H1], { expectPr: false });
    agent.push(H1); // the branch is there from before, and the agent will not move it

    await app.deliver(labeled());
    await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    await app.deliver(agent.finished(0));
    const parked = await app.waitForRun(KEY, (run) => run.state === "needs-human");
    expect(parked).toMatchObject({ stage: "implement", round: 0, pr: null, reason: { what: "the agent made no changes in round 0", next: "/conveyor fix <instructions> or /conveyor retry" } });

    // The sticky status comment says so, and how to go on.
    const status = await until(() => statusBodies(gh).find((body) => body.includes("needs a human")), "a needs-human status comment");
    expect(status).toContain("the agent made no changes in round 0");
    expect(status).toContain("/conveyor retry");

    const history = await app.conveyor.engine.store.history(KEY);
    const finished = history.find((entry) => entry.kind === "event" && entry.event.type === "implement.finished");
    expect(finished?.kind === "event" && finished.event).toMatchObject({ outcome: "no-changes", detail: `branch ${BRANCH} is at ${short(H1.sha)}` });
    expect(outcomes(history).find((outcome) => outcome.type === "implement.finished")).toMatchObject({ applied: true, state: "needs-human", reason: "implement.finished: implement parked: the agent made no changes in round 0" });

    // The way out: a maintainer comments /conveyor retry; the implementer is dispatched again.
    await app.deliver(issueComment("maintainer", "/conveyor retry", { commentId: 4242 }));
    const retried = await app.waitForRun(KEY, (run) => run.workflowRunId === 502);
    await app.settle();
    expect(retried).toMatchObject({ state: "active", stage: "implement", round: 0, reason: null });
    expect(dispatches(gh).map((inputs) => inputs.round)).toEqual(["0", "0"]);
    expect(reactions(gh)).toEqual([{ commentId: 4242, content: "+1" }]);
    expect(gh.calls("POST /repos/{owner}/{repo}/pulls")).toHaveLength(0);
    expect(gh.calls("POST /repos/{owner}/{repo}/check-runs")).toHaveLength(0); // no PR, so no check run
    gh.done();
  }, 60_000);

  it("parks with instructions to add the workflow (docs/implementer.md) when the dispatch answers 404", async ({ app, gh }) => {
    repositoryBasics(gh);
    const agent = implementer(gh, [H1], {
      expectPr: false,
      dispatch: (n) => (n === 1 ? { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event" } } : undefined),
    });

    await app.deliver(labeled());
    const parked = await app.waitForRun(KEY, (run) => run.state === "needs-human");
    expect(parked).toMatchObject({ stage: "implement", round: 0, workflowRunId: null });
    expect(parked.reason!.what).toBe("dispatch-implement failed: the implementer workflow .github/workflows/conveyor-implement.yml was not found on main");
    expect(parked.reason!.next).toBe("add .github/workflows/conveyor-implement.yml (see docs/implementer.md), then comment /conveyor retry");

    const status = await until(() => statusBodies(gh).find((body) => body.includes("needs a human")), "a needs-human status comment");
    expect(status).toContain("was not found on main");
    expect(status).toContain("add .github/workflows/conveyor-implement.yml (see docs/implementer.md)");

    const history = await app.conveyor.engine.store.history(KEY);
    expect(outcomes(history).find((outcome) => outcome.type === "effect.failed")).toMatchObject({ applied: true, state: "needs-human" });
    expect(appliedTypes(history)).not.toContain("implement.dispatched");

    // The maintainer adds the workflow and retries: the dispatch goes through.
    await app.deliver(issueComment("maintainer", "/conveyor retry"));
    await app.waitForRun(KEY, (run) => run.state === "active" && run.workflowRunId === 501);
    await app.settle();
    expect(gh.calls("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")).toHaveLength(2);
    expect(agent.dispatches).toBe(1);
    gh.done();
  }, 60_000);

  it("stops at limits.maxFixRounds and parks with a comment summarising every round", async ({ app, gh }) => {
    repositoryBasics(gh, { config: "limits:\n  maxFixRounds: 1\n" });
    const agent = implementer(gh, [H1, H2]);
    reviewing(gh);
    ci(gh, {
      [H1.sha]: [{ name: "test", conclusion: "failure", summary: FAILING_SUMMARY }],
      [H2.sha]: [{ name: "test", conclusion: "failure", summary: "1 failed: readme-check › ignores READMEs in sub-folders", job: TEST_JOB }],
    });
    // By the time CI is read the job's log is gone: the feedback says so instead of failing.
    actionsJobLogs(gh, { [TEST_JOB]: { status: 410 } }, REPO);

    await app.deliver(labeled());
    await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    agent.push(H1);
    await app.deliver(agent.finished(0));
    await app.waitForRun(KEY, (run) => run.round === 1 && run.workflowRunId === 502, 20_000);
    agent.push(H2);
    await app.deliver(agent.finished(1));

    const parked = await app.waitForRun(KEY, (run) => run.state === "needs-human", 20_000);
    await app.settle();
    expect(parked).toMatchObject({ stage: "ci", round: 1, pr: { headSha: H2.sha }, reason: { what: "fix round cap reached (1 round)" } });
    expect(parked.reason!.next).toContain("/conveyor retry review");
    expect(agent.dispatches).toBe(2); // no third round

    const [cap] = oneOffComments(gh).filter((body) => body.includes("limits.maxFixRounds"));
    expect(cap).toBeDefined();
    expect(cap).toContain("Conveyor stopped after 1 fix round (`limits.maxFixRounds`), so this run needs a human.");
    expect(cap).toContain("- round 0 (initial): first implementation");
    expect(cap).toContain(`- round 1 (ci): CI failed on ${short(H1.sha)}: test (failure)`);
    expect(cap).toContain(`Still open (ci): CI failed on ${short(H2.sha)}: test (failure)`);
    expect(cap).toContain("ignores READMEs in sub-folders");
    expect(cap).toContain("Log: not available (GitHub answered 410: the job's logs are gone).");
    expect(cap).toContain("`/conveyor retry review`");

    const status = await until(() => statusBodies(gh).find((body) => body.includes("needs a human")), "a needs-human status comment");
    expect(status).toContain("| Fix round | 1 of 1 |");
    expect(status).toContain("fix round cap reached (1 round)");
    // The Conveyor check run on the head asks for action.
    await until(
      () => [...gh.calls("POST /repos/{owner}/{repo}/check-runs"), ...gh.calls("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}")].some((call) => (call.body as { conclusion?: string }).conclusion === "action_required"),
      "the Conveyor check run asking for action",
    );

    const history = await app.conveyor.engine.store.history(KEY);
    expect(outcomes(history).filter((outcome) => outcome.type === "ci.finished").map((outcome) => outcome.reason)).toEqual([
      "ci.finished: ci → implement, fix round 1 (ci)",
      "ci.finished: ci parked: fix round cap reached (1 round)",
    ]);
    gh.done();
  }, 60_000);
});

describe("what a run must not be fooled by", () => {
  it("ignores an unrelated workflow, an unknown run in the name, a re-run of an old round and CI that reports outside the ci stage", async ({ app, gh }) => {
    repositoryBasics(gh);
    const agent = implementer(gh, [H1, H2]);
    reviewing(gh);
    ci(gh, { [H1.sha]: [{ name: "test", conclusion: "failure", summary: FAILING_SUMMARY }], [H2.sha]: [{ name: "test", conclusion: "success" }] });
    const store = app.conveyor.engine.store;

    await app.deliver(labeled());
    const dispatched = await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    await app.settle();
    const logLength = async () => (await store.history(KEY)).length;
    const before = await logLength();

    // An unrelated workflow (another id, another name) ends: nothing ties it to a run.
    expect((await app.deliver(workflowRun({ id: 9001, name: "CI", title: "Bump eslint from 9.1 to 9.2" }))).status).toBe(200);
    // A name that looks like Conveyor's but names a run that does not exist (issue 42 has none).
    expect((await app.deliver(workflowRun({ id: 9002, title: `conveyor ${REPO_ID}-42-1 round 0` }))).status).toBe(200);
    expect(await logLength()).toBe(before);
    expect((await store.load(`${REPO_ID}-42`)).run).toBeNull();
    expect(await store.history(`${REPO_ID}-42`)).toEqual([]);

    // A name for this issue but an unknown run (generation 9): logged, and refused with the reason.
    await app.deliver(workflowRun({ id: 9003, title: `conveyor ${REPO_ID}-${ISSUE}-9 round 0` }));
    const unknown = await outcomeOf(app, KEY, (event) => event.type === "implement.completed" && event.workflowRunId === 9003);
    expect(unknown).toMatchObject({ applied: false, stage: "implement", state: "active" });
    expect(unknown.reason).toContain("unrelated workflow run 9003");
    expect((await store.load(KEY)).run).toEqual(dispatched);

    // Round 0 goes red; round 1 is dispatched.
    agent.push(H1);
    await app.deliver(agent.finished(0));
    const round1 = await app.waitForRun(KEY, (run) => run.round === 1 && run.workflowRunId === 502, 20_000);
    await app.settle();
    const branchReads = gh.calls("GET /repos/{owner}/{repo}/branches/{branch}").length;

    // Someone re-runs round 0's workflow run (same id, attempt 2): it is not this round's.
    const rerunDelivery = workflowRun({ id: 501, title: `conveyor ${RUN_ID} round 0`, attempt: 2 });
    await app.deliver(rerunDelivery);
    const rerun = await outcomeOf(app, KEY, fromDelivery(rerunDelivery));
    expect(rerun.type).toBe("implement.completed");
    expect(rerun).toMatchObject({ applied: false, stage: "implement", state: "active" });
    expect(rerun.reason).toContain("unrelated workflow run 501");
    expect(rerun.reason).toContain("round 1 runs 502");
    await app.settle();
    expect((await store.load(KEY)).run).toEqual(round1);
    expect(gh.calls("GET /repos/{owner}/{repo}/branches/{branch}")).toHaveLength(branchReads); // the branch was not even read

    // Round 1 goes green; the run waits for approval.
    agent.push(H2);
    await app.deliver(agent.finished(1));
    const waiting = await app.waitForRun(KEY, (run) => run.stage === "approval", 20_000);
    await app.settle();

    // A CI workflow on the PR head ends while the run waits for approval: nothing to read.
    const ciRun = workflowRun({ id: 9004, name: "CI", title: "CI", headSha: H2.sha, pullRequests: [PR] });
    await app.deliver(ciRun);
    const late = await outcomeOf(app, KEY, fromDelivery(ciRun));
    expect(late).toMatchObject({ applied: false, stage: "approval" });
    expect(late.reason).toBe("ci.reported: check CI reported while the run is active in approval");
    await app.settle();
    expect((await store.load(KEY)).run).toEqual(waiting);

    expect(agent.dispatches).toBe(2);
    expect(reviewsPosted(gh).map((review) => review.commit_id)).toEqual([H1.sha, H2.sha]);
    gh.done();
  }, 60_000);

  it("drops the workflow run of a run that was cancelled meanwhile", async ({ app, gh }) => {
    repositoryBasics(gh);
    const agent = implementer(gh, [H1], { expectPr: false });

    await app.deliver(labeled());
    await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    await app.deliver(unlabeled());
    const cancelled = await app.waitForRun(KEY, (run) => run.state === "cancelled");
    expect(cancelled.reason!.what).toMatch(/^label removed by @/);
    await app.settle();
    const history = await app.conveyor.engine.store.history(KEY);
    const branchReads = gh.calls("GET /repos/{owner}/{repo}/branches/{branch}").length;

    // The agent had pushed already; its workflow run ends after the cancel.
    agent.push(H1);
    expect((await app.deliver(agent.finished(0))).status).toBe(200);
    await app.settle();
    expect(await app.conveyor.engine.store.history(KEY)).toEqual(history); // not even logged: the run is over
    expect((await app.conveyor.engine.store.load(KEY)).run).toEqual(cancelled);
    expect(gh.calls("GET /repos/{owner}/{repo}/branches/{branch}")).toHaveLength(branchReads);
    expect(gh.calls("POST /repos/{owner}/{repo}/pulls")).toHaveLength(0);
    expect(statusBodies(gh).at(-1)).toContain("cancelled");
    gh.done();
  }, 60_000);

  it("follows a PR branch force-pushed by a human during ci and pushed again during approval", async ({ app, gh }) => {
    /** A human rewrote the branch: H3 does not descend from H1. */
    const H3: Head = {
      sha: sha("c3"),
      files: [added("src/readme-check.ts", ["export function hasReadme(files: readonly string[]): boolean {", '  return files.some((file) => /^readme(\\.md)?$/i.test(file));', "}"]), README_TEST],
    };
    /** Then pushed one more commit on top of H3. */
    const H4: Head = {
      sha: sha("d4"),
      files: [modified("src/readme-check.ts", '@@ -1,3 +1,3 @@\n-export function hasReadme(files: readonly string[]): boolean {\n-  return files.some((file) => /^readme(\\.md)?$/i.test(file));\n+export function hasReadme(files: Iterable<string>): boolean {\n+  return [...files].some((file) => /^readme(\\.md)?$/i.test(file));\n }', ["export function hasReadme(files: Iterable<string>): boolean {", '  return [...files].some((file) => /^readme(\\.md)?$/i.test(file));', "}"]), README_TEST],
    };
    repositoryBasics(gh);
    // Registered before the implementer's: H1 → H3 is a rewrite, not new commits.
    gh.on("GET /repos/{owner}/{repo}/compare/{basehead}", { basehead: `${H1.sha}...${H3.sha}` }, { status: 200, body: { status: "diverged", files: [] } });
    const agent = implementer(gh, [H1, H3, H4]);
    reviewing(gh);
    ci(gh, {
      [H1.sha]: [{ name: "test", conclusion: null, status: "in_progress" }],
      [H3.sha]: [{ name: "test", conclusion: "success" }],
      [H4.sha]: [{ name: "test", conclusion: "success" }],
    });
    merging(gh);

    await app.deliver(labeled());
    await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    agent.push(H1);
    await app.deliver(agent.finished(0));
    await app.waitForRun(KEY, (run) => run.stage === "ci", 20_000);
    await until(() => gh.calls("GET /repos/{owner}/{repo}/commits/{ref}/check-runs").some((call) => call.params.ref === H1.sha && call.query.check_name === undefined), "CI read on H1");

    // CI still runs on H1 when a maintainer force-pushes H3: the run reviews H3 in full.
    agent.push(H3);
    await app.deliver(pushed(H3.sha, "maintainer"));
    const onH3 = await app.waitForRun(KEY, (run) => run.stage === "approval" && run.pr?.headSha === H3.sha, 20_000);
    expect(onH3).toMatchObject({ round: 0, ci: { sha: H3.sha, conclusion: "success" } });

    // CI on the old head reports late: not the head any more.
    const lateCi = workflowRun({ id: 9100, name: "CI", title: "CI", headSha: H1.sha, pullRequests: [PR] });
    await app.deliver(lateCi);
    const late = await outcomeOf(app, KEY, fromDelivery(lateCi));
    expect(late.type).toBe("ci.reported");
    expect(late).toMatchObject({ applied: false, stage: "approval" });
    expect(late.reason).toContain(`not the head ${short(H3.sha)}`);

    // Another push while waiting for approval: reviewed again (only the new commit), CI again.
    agent.push(H4);
    await app.deliver(pushed(H4.sha, "maintainer"));
    await app.waitForRun(KEY, (run) => run.stage === "approval" && run.pr?.headSha === H4.sha, 20_000);

    // An approval of the previous head does not count; one of the new head merges it.
    await app.deliver(approval("maintainer", H3.sha));
    const stale = await outcomeOf(app, KEY, (event) => event.type === "permission.checked" && event.subject.kind === "review" && event.subject.sha === H3.sha);
    expect(stale).toMatchObject({ applied: false, stage: "approval" });
    expect(stale.reason).toContain(`stale approval for ${short(H3.sha)} (head is ${short(H4.sha)})`);
    await app.deliver(approval("maintainer", H4.sha));
    const done = await app.waitForRun(KEY, (run) => run.state === "done", 20_000);
    await app.settle();
    expect(done.approvals).toEqual([expect.objectContaining({ login: "maintainer", sha: H4.sha })]);

    const reviews = reviewsPosted(gh);
    expect(reviews.map((review) => review.commit_id)).toEqual([H1.sha, H3.sha, H4.sha]);
    expect(reviews[1]!.body).toContain(`history was rewritten since ${short(H1.sha)} (diverged): full review`);
    expect(reviews[2]!.body).toContain(`incremental review of the commits since ${short(H3.sha)}`);
    expect(gh.calls("GET /repos/{owner}/{repo}/compare/{basehead}").map((call) => call.params.basehead)).toEqual(expect.arrayContaining([`${H1.sha}...${H3.sha}`, `${H3.sha}...${H4.sha}`]));
    expect(gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge").map((call) => call.body)).toEqual([expect.objectContaining({ sha: H4.sha })]);
    expect(agent.dispatches).toBe(1); // a human's push is no fix round

    const history = await app.conveyor.engine.store.history(KEY);
    expect(outcomes(history).filter((outcome) => outcome.type === "pr.pushed").map((outcome) => outcome.reason)).toEqual([
      `pr.pushed: pushed by @maintainer: ci → review of ${short(H3.sha)}`,
      `pr.pushed: pushed by @maintainer: approval → review of ${short(H4.sha)}`,
    ]);
    gh.done();
  }, 60_000);
});
