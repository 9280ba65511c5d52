// The dispatch-implement effect against GitHub's API (faked with nock) and a real ledger in Redis:
// one workflow run per effect, however its attempts crash or race, and no ledger field left over
// that nothing will read again.
import { afterAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { dispatchImplement } from "../../src/app/effects/implement.js";
import { LEDGER } from "../../src/app/effects/ledger-names.js";
import type { GitHubContext } from "../../src/app/effects/octokit.js";
import { PermanentEffectError } from "../../src/app/effects/octokit.js";
import type { EffectOf } from "../../src/pipeline/effects.js";
import { branchFor, implementRunName } from "../../src/pipeline/implementer.js";
import type { Run } from "../../src/pipeline/run.js";
import { ledgerField, type RunStore } from "../../src/queue/run-store.js";
import { fakeGitHub, type FakeGitHub } from "../support/github/fake-github.js";
import { TestOctokit } from "../support/conveyor.js";
import { testEngine } from "../support/engine.js";

const { engine, redis, keys, close } = testEngine();
afterAll(close);

const repo = { owner: "acme", repo: "widgets" };
const WORKFLOW = "conveyor-implement.yml";
const NOW = "2026-11-22T11:00:00.000Z";
let nextIssue = 40;

function runOn(issue: number, round = 0): Run {
  const at = "2026-11-22T10:00:00.000Z";
  return {
    id: `501-${issue}-1`, generation: 1, version: 3, label: "conveyor",
    repo: { id: 501, owner: "acme", name: "widgets", installationId: 9 },
    issue: { number: issue, title: "Add a widget" }, startedBy: "alice",
    stage: "implement", state: "active", round, config: null,
    pr: null, workflowRunId: null,
    reviews: [], ci: null, approvals: [], feedback: null, rounds: [], tokens: 0, deferred: [], reason: null,
    createdAt: at, updatedAt: at, stageStartedAt: at,
  };
}

function dispatchOf(run: Run): EffectOf<"dispatch-implement"> {
  return { kind: "dispatch-implement", id: `${run.id}_implement_r${run.round}_v${run.version}_dispatch-implement`, round: run.round, feedback: null };
}

function context(run: Run, store: RunStore = engine.store): GitHubContext {
  return { run, issueKey: `501-${run.issue.number}`, store, log: pino({ level: "silent" }), octokit: new TestOctokit({ auth: { token: "t" } }), now: () => NOW, lastAttempt: false };
}

/** What a dispatch reads before it claims: the default branch and where the run's branch stands (not there yet). */
function beforeDispatch(gh: FakeGitHub, run: Run): void {
  gh.on("GET /repos/{owner}/{repo}", repo, { status: 200, body: { id: 501, name: "widgets", full_name: "acme/widgets", default_branch: "main" } });
  gh.on("GET /repos/{owner}/{repo}/branches/{branch}", { ...repo, branch: branchFor(run.issue.number, run.issue.title) }, { status: 404, body: { message: "Branch not found" } });
}

function dispatches(gh: FakeGitHub, reply: { status: number; body: unknown }): void {
  gh.on("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", { ...repo, workflow_id: WORKFLOW }, reply);
}

/** The run's ledger as stored, by field name as the effects spell it. */
async function ledgerOf(run: Run, names: string[]): Promise<Record<string, string | null>> {
  const key = `501-${run.issue.number}`;
  const stored = await redis.hgetall(keys.ledger(key));
  return Object.fromEntries(names.map((name) => [name, stored[ledgerField(key, name)] ?? null]));
}

describe("dispatch-implement", () => {
  it("dispatches once, records the workflow run and where the branch stood, and keeps no intent", async () => {
    const run = runOn(nextIssue++);
    const effect = dispatchOf(run);
    const gh = fakeGitHub();
    beforeDispatch(gh, run);
    dispatches(gh, { status: 200, body: { workflow_run_id: 9101, run_url: "", html_url: "" } });

    expect(await dispatchImplement(effect, context(run))).toMatchObject({ type: "implement.dispatched", round: 0, workflowRunId: 9101 });
    expect(await ledgerOf(run, [LEDGER.dispatch(effect.id), LEDGER.dispatchIntent(effect.id), LEDGER.branchBase(run.id, 0)])).toEqual({
      [LEDGER.dispatch(effect.id)]: "9101",
      [LEDGER.dispatchIntent(effect.id)]: null,
      [LEDGER.branchBase(run.id, 0)]: "none",
    });
    // A retry of the same effect answers from the ledger without asking GitHub (no interceptor is left).
    expect(await dispatchImplement(effect, context(run))).toMatchObject({ workflowRunId: 9101 });
  });

  it("after a crash between dispatching and recording it, adopts the workflow run GitHub lists instead of dispatching again", async () => {
    const run = runOn(nextIssue++);
    const effect = dispatchOf(run);
    await engine.store.ledgerSet(`501-${run.issue.number}`, LEDGER.dispatchIntent(effect.id), "2026-11-22T10:58:00.000Z");
    const gh = fakeGitHub();
    gh.on("GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", { ...repo, workflow_id: WORKFLOW }, {
      status: 200,
      body: { total_count: 1, workflow_runs: [{ id: 9202, display_title: implementRunName(run.id, 0), created_at: "2026-11-22T10:58:01Z" }] },
    });

    expect(await dispatchImplement(effect, context(run))).toMatchObject({ workflowRunId: 9202 });
    expect(await ledgerOf(run, [LEDGER.dispatch(effect.id), LEDGER.dispatchIntent(effect.id)])).toEqual({ [LEDGER.dispatch(effect.id)]: "9202", [LEDGER.dispatchIntent(effect.id)]: null });
  });

  it("an attempt that read the ledger before another attempt recorded its dispatch, and claims after it, does not dispatch again", async () => {
    const run = runOn(nextIssue++);
    const effect = dispatchOf(run);
    const key = `501-${run.issue.number}`;
    // The other attempt wrote where the branch stood, dispatched, recorded 9303 and dropped its
    // intent; this one read the dispatch field just before that, so it saw neither the result nor
    // an intent.
    await engine.store.ledgerSet(key, LEDGER.branchBase(run.id, 0), "a".repeat(40));
    await engine.store.ledgerSet(key, LEDGER.dispatch(effect.id), "9303");
    let firstRead = true;
    const late = Object.create(engine.store) as RunStore;
    late.ledgerGet = async (issue, field) => {
      if (field === LEDGER.dispatch(effect.id) && firstRead) {
        firstRead = false;
        return null;
      }
      return engine.store.ledgerGet(issue, field);
    };
    const gh = fakeGitHub();
    gh.on("GET /repos/{owner}/{repo}", repo, { status: 200, body: { id: 501, name: "widgets", full_name: "acme/widgets", default_branch: "main" } });

    // No dispatch interceptor: a second POST would fail the test (fakeGitHub's done()); nor one
    // for the branch: the base the other attempt wrote stands (the agent may have pushed since).
    expect(await dispatchImplement(effect, context(run, late))).toMatchObject({ workflowRunId: 9303 });
    expect(await ledgerOf(run, [LEDGER.dispatchIntent(effect.id), LEDGER.branchBase(run.id, 0)])).toEqual({ [LEDGER.dispatchIntent(effect.id)]: null, [LEDGER.branchBase(run.id, 0)]: "a".repeat(40) });
  });

  it("a dispatch GitHub refuses (workflow not found) fails for good with what to do, and leaves no intent behind", async () => {
    const run = runOn(nextIssue++);
    const effect = dispatchOf(run);
    const gh = fakeGitHub();
    beforeDispatch(gh, run);
    dispatches(gh, { status: 404, body: { message: "Not Found" } });

    const failure = await dispatchImplement(effect, context(run)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PermanentEffectError);
    expect((failure as Error).message).toMatch(/conveyor-implement\.yml was not found on main/);
    expect(await ledgerOf(run, [LEDGER.dispatchIntent(effect.id), LEDGER.dispatch(effect.id)])).toEqual({ [LEDGER.dispatchIntent(effect.id)]: null, [LEDGER.dispatch(effect.id)]: null });
  });

  it("a fix round's dispatch replaces the previous round's branch base", async () => {
    const run = runOn(nextIssue++, 1);
    const key = `501-${run.issue.number}`;
    await engine.store.ledgerSet(key, LEDGER.branchBase(run.id, 0), "none");
    const gh = fakeGitHub();
    gh.on("GET /repos/{owner}/{repo}", repo, { status: 200, body: { id: 501, name: "widgets", full_name: "acme/widgets", default_branch: "main" } });
    gh.on("GET /repos/{owner}/{repo}/branches/{branch}", { ...repo, branch: branchFor(run.issue.number, run.issue.title) }, { status: 200, body: { name: branchFor(run.issue.number, run.issue.title), commit: { sha: "c".repeat(40) } } });
    dispatches(gh, { status: 200, body: { workflow_run_id: 9404, run_url: "", html_url: "" } });

    await dispatchImplement(dispatchOf(run), context(run));
    expect(await ledgerOf(run, [LEDGER.branchBase(run.id, 0), LEDGER.branchBase(run.id, 1)])).toEqual({ [LEDGER.branchBase(run.id, 0)]: null, [LEDGER.branchBase(run.id, 1)]: "c".repeat(40) });
  });
});
