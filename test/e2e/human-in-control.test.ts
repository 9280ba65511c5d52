// Humans in control, end to end through HTTP webhooks, Probot, BullMQ and a real Redis, GitHub
// faked at HTTP level: a blocking review finding and a maintainer's change request send the agent
// back; slash commands pause, resume and cancel; only people with write access approve or
// command, and everything else is refused politely or ignored.
import { describe, expect } from "vitest";
import type { TestConveyor } from "../support/conveyor.js";
import { approval, botPrComment, ci, implementer, ISSUE, issueComment, KEY, labeled, merging, PR, prComment, REPO_ID, repositoryBasics, reviewing, RUN_ID, type Head } from "../support/scenario.js";
import { added, appliedTypes, dispatches, eventsLogged, fromDelivery, it, modified, oneOffComments, outcomeOf, outcomes, reactions, readmeCheck, readmeCheckFixed, reviewsPosted, sha, short, statusBodies, until } from "./helpers.js";

/** A clean first implementation. */
const H1 = readmeCheck("e1");

/** A clean second round (what `compare` lists since H1, and what the PR's files are now). */
const H2 = readmeCheckFixed("f2");

const green = (...heads: Head[]) => Object.fromEntries(heads.map((head) => [head.sha, [{ name: "test", conclusion: "success" }]]));

/** Label → implement → PR → reviews → green CI → waiting for approval on `head`. */
async function toApproval(app: TestConveyor, agent: ReturnType<typeof implementer>, head: Head) {
  await app.deliver(labeled());
  await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
  agent.push(head);
  await app.deliver(agent.finished(0));
  const run = await app.waitForRun(KEY, (current) => current.stage === "approval", 20_000);
  await app.settle();
  return run;
}

describe("fix rounds started by reviews and people", () => {
  // Guards the incremental resolution of findings: before 34b61a6 every angle reported
  // `reviewedPaths: []` (src/app/review/round.ts), so the fixed key stayed open and blocking, and
  // the run looped through fix rounds until limits.maxFixRounds.
  it("a blocking security finding sends the agent back; the clean head is reviewed incrementally, approved and merged", async ({ app, gh }) => {
    const leaky: Head = {
      sha: sha("5e"),
      files: [
        added("src/s3-upload.ts", ['export const region = "eu-west-1";', 'export const accessKeyId = "AKIAZ5QW3RTY7UIO9PLK";', "export const bucket = `uploads-${region}`;"]),
        added("test/s3-upload.test.ts", ['import { bucket } from "../src/s3-upload.js";', 'it("names the bucket", () => expect(bucket).toBe("uploads-eu-west-1"));']),
      ],
    };
    const fixed: Head = {
      sha: sha("c1"),
      files: [
        modified(
          "src/s3-upload.ts",
          '@@ -1,3 +1,3 @@\n export const region = "eu-west-1";\n-export const accessKeyId = "AKIAZ5QW3RTY7UIO9PLK";\n+export const accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? "";\n export const bucket = `uploads-${region}`;',
          ['export const region = "eu-west-1";', 'export const accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? "";', "export const bucket = `uploads-${region}`;"],
        ),
      ],
    };
    repositoryBasics(gh);
    const agent = implementer(gh, [leaky, fixed]);
    reviewing(gh);
    ci(gh, green(leaky, fixed));
    merging(gh);

    await app.deliver(labeled());
    await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    agent.push(leaky);
    await app.deliver(agent.finished(0));

    // The security review finds the key: a blocker, so round 1 starts with it as feedback.
    const fixing = await app.waitForRun(KEY, (run) => run.round === 1 && run.workflowRunId === 502, 20_000);
    expect(fixing.rounds.at(-1)).toMatchObject({ round: 1, reason: "review", summary: `1 blocking finding in the review of ${short(leaky.sha)}` });
    const feedback = JSON.parse(dispatches(gh)[1]!.feedback) as { source: string; items: string[] };
    expect(feedback.source).toBe("review");
    expect(feedback.items).toEqual([expect.stringContaining("src/s3-upload.ts:2 [blocker] AWS access key ID committed in the diff")]);
    const [firstReview] = reviewsPosted(gh);
    expect(firstReview).toMatchObject({ commit_id: leaky.sha, event: "COMMENT" });
    expect(firstReview!.comments).toEqual([expect.objectContaining({ path: "src/s3-upload.ts", line: 2, body: expect.stringContaining("AWS access key ID committed in the diff") })]);
    expect(firstReview!.body).not.toContain("AKIAZ5QW3RTY7UIO9PLK"); // the review never repeats the secret

    // The agent removes the key; the second review reads only the new commits and resolves it.
    agent.push(fixed);
    await app.deliver(agent.finished(1));
    const next = await app.waitForRun(KEY, (run) => run.stage === "approval" || run.round >= 2 || run.state !== "active", 20_000);
    await app.settle();
    const secondReview = reviewsPosted(gh)[1];
    expect(secondReview).toMatchObject({ commit_id: fixed.sha });
    expect(gh.calls("GET /repos/{owner}/{repo}/compare/{basehead}").map((call) => call.params.basehead)).toContain(`${leaky.sha}...${fixed.sha}`);
    expect(secondReview!.body).toContain(`incremental review of the commits since ${short(leaky.sha)}`);
    expect(secondReview!.body).toMatch(/\d+ new, \d+ open, 1 resolved since the last round\./);
    expect(secondReview!.body).toContain("| security | ok | 0 | 0 |");
    expect(secondReview!.body).toMatch(/<summary>Resolved<\/summary>[\s\S]*~~`src\/s3-upload\.ts:2` AWS access key ID committed in the diff~~ \(security\)/);
    expect(next).toMatchObject({ stage: "approval", state: "active", round: 1 });
    expect(next.reviews.find((review) => review.angle === "security")).toMatchObject({ status: "ok", blocking: 0 });

    // A maintainer approves the clean head: merged at exactly that sha, issue closed.
    await app.deliver(approval("maintainer", fixed.sha));
    await app.waitForRun(KEY, (run) => run.state === "done", 20_000);
    await app.settle();
    expect(gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge").map((call) => call.body)).toEqual([expect.objectContaining({ sha: fixed.sha, merge_method: "squash" })]);
    expect(gh.calls("PATCH /repos/{owner}/{repo}/issues/{issue_number}").map((call) => call.body)).toEqual([expect.objectContaining({ state: "closed" })]);
    const securityChecks = gh.calls("POST /repos/{owner}/{repo}/check-runs").filter((call) => (call.body as { name: string }).name === "Conveyor / security");
    expect(securityChecks.map((call) => [(call.body as { head_sha: string }).head_sha, (call.body as { conclusion: string }).conclusion])).toEqual([
      [leaky.sha, "failure"],
      [fixed.sha, "success"],
    ]);
    expect(agent.dispatches).toBe(2);

    const history = await app.conveyor.engine.store.history(KEY);
    expect(outcomes(history).filter((outcome) => outcome.type === "review.finished").map((outcome) => outcome.reason)).toEqual([
      "review.finished: review → implement, fix round 1 (review)",
      "review.finished: review → ci",
    ]);
    gh.done();
  }, 60_000);

  it("a maintainer's change request starts a fix round whose feedback is the review's body; then approval and merge", async ({ app, gh }) => {
    const REQUEST = "Please also accept a lowercase readme.md, as on case-insensitive file systems.";
    repositoryBasics(gh);
    const agent = implementer(gh, [H1, H2]);
    reviewing(gh);
    ci(gh, green(H1, H2));
    merging(gh);

    await toApproval(app, agent, H1);
    const request = approval("maintainer", H1.sha, { state: "changes_requested", body: REQUEST });
    // The review's inline comment, which Conveyor reads with the review.
    gh.on("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments", { owner: "Codertocat", repo: "Hello-World", pull_number: PR, review_id: request.payload.review.id }, {
      status: 200,
      body: [{ id: 31, path: "src/readme-check.ts", line: 2, original_line: 2, body: "`includes` is case-sensitive.", user: { login: "maintainer" } }],
    });
    await app.deliver(request);
    const fixing = await app.waitForRun(KEY, (run) => run.round === 1 && run.workflowRunId === 502, 20_000);
    expect(fixing).toMatchObject({ stage: "implement", feedback: { source: "changes-requested", summary: REQUEST } });
    const feedback = JSON.parse(dispatches(gh)[1]!.feedback) as { source: string; summary: string; items: string[] };
    expect(feedback).toEqual({ source: "changes-requested", summary: REQUEST, items: ["src/readme-check.ts:2 `includes` is case-sensitive."] });

    agent.push(H2);
    await app.deliver(agent.finished(1));
    await app.waitForRun(KEY, (run) => run.stage === "approval" && run.pr?.headSha === H2.sha, 20_000);
    await app.deliver(approval("maintainer", H2.sha));
    const done = await app.waitForRun(KEY, (run) => run.state === "done", 20_000);
    await app.settle();

    expect(done).toMatchObject({ round: 1, approvals: [expect.objectContaining({ login: "maintainer", sha: H2.sha })] });
    expect(done.rounds.map((round) => [round.round, round.reason, round.summary])).toEqual([
      [0, "initial", "first implementation"],
      [1, "changes-requested", REQUEST],
    ]);
    const update = gh.calls("PATCH /repos/{owner}/{repo}/pulls/{pull_number}").at(-1)!.body as { body: string };
    expect(update.body).toContain(`This round addresses changes-requested feedback: ${REQUEST}`);
    expect(reviewsPosted(gh).map((review) => review.commit_id)).toEqual([H1.sha, H2.sha]);
    expect(gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge").map((call) => call.body)).toEqual([expect.objectContaining({ sha: H2.sha })]);
    expect(oneOffComments(gh).some((body) => body.includes(`<!-- conveyor:summary=${RUN_ID} -->`) && body.includes("- fix rounds: 1") && body.includes("| 1 | changes-requested:"))).toBe(true);

    const history = await app.conveyor.engine.store.history(KEY);
    const checked = outcomes(history).filter((outcome) => outcome.type === "permission.checked").map((outcome) => outcome.reason);
    expect(checked).toEqual(["permission.checked: approval → implement, fix round 1 (changes-requested)", "permission.checked: approval → merge (squash)"]);
    gh.done();
  }, 60_000);
});

describe("slash commands and approvals", () => {
  it("pause, resume and cancel mid-run: acknowledged, shown in the status, events held while paused and applied on resume", async ({ app, gh }) => {
    repositoryBasics(gh);
    const agent = implementer(gh, [H1, H2]);
    reviewing(gh);
    ci(gh, { [H1.sha]: [{ name: "test", conclusion: "failure", summary: "1 failed" }], [H2.sha]: [{ name: "test", conclusion: "success" }] });

    // Round 0 goes red, so round 1 runs the implementer while the PR is open.
    await app.deliver(labeled());
    await app.waitForRun(KEY, (run) => run.workflowRunId === 501);
    agent.push(H1);
    await app.deliver(agent.finished(0));
    await app.waitForRun(KEY, (run) => run.round === 1 && run.workflowRunId === 502, 20_000);
    await app.settle();

    await app.deliver(prComment("maintainer", "/conveyor pause", 9101));
    await app.waitForRun(KEY, (run) => run.state === "paused");
    await until(() => reactions(gh).some((reaction) => reaction.commentId === 9101 && reaction.content === "+1"), "the +1 on the pause command");
    await until(() => statusBodies(gh).some((body) => body.includes("⏸️ paused")), "a paused status comment");
    const branchReads = gh.calls("GET /repos/{owner}/{repo}/branches/{branch}").length;

    // The agent's workflow run ends while the run is paused: held, not applied.
    agent.push(H2);
    const completion = agent.finished(1);
    await app.deliver(completion);
    const held = await outcomeOf(app, KEY, fromDelivery(completion));
    expect(held).toMatchObject({ type: "implement.completed", applied: true, state: "paused", reason: "implement.completed: deferred while paused", effects: [] });
    await app.settle();
    const paused = (await app.conveyor.engine.store.load(KEY)).run!;
    expect(paused).toMatchObject({ state: "paused", stage: "implement", round: 1, pr: { headSha: H1.sha } });
    expect(paused.deferred.map((event) => event.type)).toEqual(["implement.completed"]);
    expect(gh.calls("GET /repos/{owner}/{repo}/branches/{branch}")).toHaveLength(branchReads);

    // Resume applies it: the branch is read, the PR updated, the new head reviewed and CI'd.
    await app.deliver(prComment("maintainer", "/conveyor resume", 9102));
    const waiting = await app.waitForRun(KEY, (run) => run.stage === "approval", 20_000);
    await app.settle();
    expect(waiting).toMatchObject({ state: "active", round: 1, deferred: [], pr: { headSha: H2.sha } });
    let history = await app.conveyor.engine.store.history(KEY);
    const resumed = outcomes(history).find((outcome) => outcome.type === "permission.checked" && outcome.reason.includes("resume"));
    expect(resumed!.reason).toBe("permission.checked: resume by @maintainer: paused → active in implement; replayed 1 deferred: implement.completed: implement round 1 succeeded: reading the branch");

    // Cancel ends the run.
    await app.deliver(prComment("maintainer", "/conveyor cancel", 9103));
    const cancelled = await app.waitForRun(KEY, (run) => run.state === "cancelled");
    expect(cancelled.reason).toEqual({ what: "cancelled by @maintainer", next: "add the label conveyor again to start a new run" });
    await until(() => statusBodies(gh).some((body) => body.includes("⛔ cancelled")), "a cancelled status comment");
    await until(() => gh.calls("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}").some((call) => (call.body as { conclusion?: string }).conclusion === "cancelled"), "the Conveyor check run cancelled");
    await app.settle();

    // After the cancel, an approval changes nothing.
    expect((await app.deliver(approval("maintainer", H2.sha))).status).toBe(200);
    await app.settle();
    expect((await app.conveyor.engine.store.load(KEY)).run).toEqual(cancelled);

    expect(reactions(gh)).toEqual([
      { commentId: 9101, content: "+1" },
      { commentId: 9102, content: "+1" },
      { commentId: 9103, content: "+1" },
    ]);
    expect(gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge")).toHaveLength(0);
    expect(gh.calls("PATCH /repos/{owner}/{repo}/issues/{issue_number}")).toHaveLength(0);
    history = await app.conveyor.engine.store.history(KEY);
    expect(outcomes(history).filter((outcome) => outcome.type === "permission.checked").map((outcome) => outcome.reason.split(":").slice(0, 2).join(":"))).toEqual([
      "permission.checked: pause by @maintainer",
      "permission.checked: resume by @maintainer",
      "permission.checked: cancel by @maintainer",
    ]);
    gh.done();
  }, 60_000);

  it("an approval from a read-only user gets a polite comment and does not count; a maintainer's approval merges", async ({ app, gh }) => {
    repositoryBasics(gh, { permissions: { maintainer: "write", reader: "read" } });
    const agent = implementer(gh, [H1]);
    reviewing(gh);
    ci(gh, green(H1));
    merging(gh);

    await toApproval(app, agent, H1);
    const byReader = approval("reader", H1.sha);
    await app.deliver(byReader);
    const refusal = await until(() => oneOffComments(gh).find((body) => body.includes("@reader")), "the reply to the read-only approval");
    expect(refusal).toContain("Thanks for the review, @reader. It does not count toward Conveyor's approval gate because you do not have write access to this repository.");
    await app.settle();
    const still = (await app.conveyor.engine.store.load(KEY)).run!;
    expect(still).toMatchObject({ stage: "approval", state: "active", approvals: [] });

    await app.deliver(approval("maintainer", H1.sha));
    const done = await app.waitForRun(KEY, (run) => run.state === "done", 20_000);
    await app.settle();
    expect(done.approvals.map((entry) => entry.login)).toEqual(["maintainer"]);
    expect(gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge")).toHaveLength(1);
    expect(gh.calls("GET /repos/{owner}/{repo}/collaborators/{username}/permission").map((call) => call.params.username)).toEqual(["reader", "maintainer"]);

    const history = await app.conveyor.engine.store.history(KEY);
    expect(outcomes(history).filter((outcome) => outcome.type === "permission.checked").map((outcome) => outcome.reason)).toEqual([
      "permission.checked: @reader's review does not count (permission read)",
      "permission.checked: approval → merge (squash)",
    ]);
    expect(appliedTypes(history)).toContain("close.finished");
    gh.done();
  }, 60_000);

  it("refuses or ignores approvals and commands that do not count, and executes a comment delivered twice once", async ({ app, gh }) => {
    repositoryBasics(gh, { permissions: { maintainer: "write", reader: "read" } });
    const agent = implementer(gh, [H1]);
    reviewing(gh);
    ci(gh, green(H1));
    merging(gh);
    const store = app.conveyor.engine.store;

    const waiting = await toApproval(app, agent, H1);
    const outcomeOfDelivery = async (delivery: { name: string; id: string; payload: unknown }) => {
      await app.deliver(delivery);
      return outcomeOf(app, KEY, fromDelivery(delivery));
    };

    // Bots never approve: neither a bot account nor Conveyor itself (a login ending in [bot]).
    expect((await outcomeOfDelivery(approval("dependabot[bot]", H1.sha, { bot: true })))).toMatchObject({ applied: false, reason: "review.submitted: bots never approve (@dependabot[bot])" });
    expect((await outcomeOfDelivery(approval("conveyor-app[bot]", H1.sha)))).toMatchObject({ applied: false, reason: "review.submitted: bots never approve (@conveyor-app[bot])" });

    // A read-only user's approval: checked, then a polite comment.
    await app.deliver(approval("reader", H1.sha));
    await until(() => oneOffComments(gh).some((body) => body.includes("Thanks for the review, @reader")), "the reply to the read-only approval");

    // A read-only user's command: a confused reaction and a polite refusal.
    await app.deliver(prComment("reader", "/conveyor cancel", 8001));
    const sorry = await until(() => oneOffComments(gh).find((body) => body.includes("Sorry @reader")), "the refusal of the read-only command");
    expect(sorry).toContain("Sorry @reader, `/conveyor cancel` needs write access to this repository (yours is read). `/conveyor status` and `/conveyor help` work for everyone.");
    await until(() => reactions(gh).some((reaction) => reaction.commentId === 8001 && reaction.content === "confused"), "the confused reaction");

    // A bot's command is ignored: no reaction, no reply.
    expect(await outcomeOfDelivery(botPrComment("renovate[bot]", "/conveyor cancel", 8002))).toMatchObject({ applied: false, reason: "command.received: bots cannot run commands (@renovate[bot])" });

    // An unknown command gets the help text.
    await app.deliver(prComment("maintainer", "/conveyor frobnicate now", 8003));
    const help = await until(() => oneOffComments(gh).find((body) => body.includes("Unknown command")), "the reply to the unknown command");
    expect(help).toContain("Unknown command `/conveyor frobnicate now`.");
    expect(help).toContain("Conveyor commands (comment them on the issue or its pull request):");
    expect(help).toContain("`/conveyor pause` / `/conveyor resume`");

    // A command on an issue without a run: nothing stored, nothing posted.
    const otherIssue = `${REPO_ID}-99` as const;
    expect((await app.deliver(issueComment("maintainer", "/conveyor status", { issue: 99, commentId: 8004 }))).status).toBe(200);
    expect((await store.load(otherIssue)).run).toBeNull();
    expect(await store.history(otherIssue)).toEqual([]);
    // A review on a pull request Conveyor does not own: ignored.
    const before = (await store.history(KEY)).length;
    expect((await app.deliver(approval("maintainer", sha("99"), { pr: 99, branch: "feature/unrelated" }))).status).toBe(200);
    expect((await store.history(KEY)).length).toBe(before);

    // The same comment delivered twice (a redelivery keeps the delivery id) executes once.
    const pause = prComment("maintainer", "/conveyor pause", 8005);
    await app.deliver(pause);
    await app.deliver(pause);
    await app.waitForRun(KEY, (run) => run.state === "paused");
    await until(() => reactions(gh).some((reaction) => reaction.commentId === 8005), "the +1 on the pause command");
    await app.settle();
    expect(await eventsLogged(app, KEY, (event) => event.type === "command.received" && event.command.commentId === 8005)).toHaveLength(1);
    await app.deliver(prComment("maintainer", "/conveyor resume", 8006));
    await app.waitForRun(KEY, (run) => run.state === "active");
    await app.settle();

    // None of it moved the run; a maintainer's approval merges it.
    const unmoved = (await store.load(KEY)).run!;
    expect(unmoved).toMatchObject({ stage: "approval", state: "active", approvals: [], pr: waiting.pr, round: 0 });
    await app.deliver(approval("maintainer", H1.sha));
    const done = await app.waitForRun(KEY, (run) => run.state === "done", 20_000);
    await app.settle();
    expect(done.approvals.map((entry) => entry.login)).toEqual(["maintainer"]);

    // What GitHub saw.
    expect(reactions(gh)).toEqual([
      { commentId: 8001, content: "confused" },
      { commentId: 8005, content: "+1" },
      { commentId: 8006, content: "+1" },
    ]);
    const comments = oneOffComments(gh);
    expect(comments.filter((body) => body.includes("Thanks for the review"))).toHaveLength(1);
    expect(comments.filter((body) => body.includes("Sorry @reader"))).toHaveLength(1);
    expect(comments.filter((body) => body.includes("Unknown command"))).toHaveLength(1);
    expect(comments.filter((body) => body.includes("did nothing"))).toHaveLength(0);
    expect(comments).toHaveLength(4); // the three replies and the closing summary
    expect(gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments").every((call) => call.params.issue_number === String(ISSUE))).toBe(true);
    expect(gh.calls("GET /repos/{owner}/{repo}/collaborators/{username}/permission").map((call) => call.params.username)).toEqual(["reader", "reader", "maintainer", "maintainer", "maintainer"]);
    expect(gh.calls("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge")).toHaveLength(1);
    gh.done();
  }, 60_000);
});
