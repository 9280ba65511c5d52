import { afterAll, describe, expect, it } from "vitest";
import { RunStore } from "../../src/queue/run-store.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import type { Run } from "../../src/pipeline/run.js";
import { testRedis } from "../support/redis.js";
import { makeRun } from "../support/run-factory.js";

const { redis, keys } = testRedis();
const store = new RunStore(redis, keys);
afterAll(() => redis.quit());

const at = "2026-11-22T10:00:00.000Z";
const repo = { id: 7, owner: "octo", name: "hello", installationId: 1 };
const issue = { number: 3, title: "Add a thing" };
const closed: PipelineEvent = { type: "issue.closed", at, actor: "octocat", isBot: false };
const labeled: PipelineEvent = {
  type: "issue.labeled",
  at,
  label: "conveyor",
  actor: "octocat",
  repo,
  issue,
};

const run = (version: number, overrides: Partial<Run> = {}): Run => makeRun({ version, ...overrides }, { repo, issue, at });

describe("RunStore", () => {
  it("appends once per source: a redelivered webhook is a duplicate", async () => {
    const first = await store.append("7-1", labeled, { source: "delivery-a", requiresRun: false });
    const again = await store.append("7-1", labeled, { source: "delivery-a", requiresRun: false });
    expect(first.status).toBe("appended");
    expect(again.status).toBe("duplicate");
    expect(await store.pending("7-1", "0-0")).toHaveLength(1);
  });

  it("stores nothing for an event that needs a run when the issue has none", async () => {
    const result = await store.append("7-2", closed, { source: "delivery-b", requiresRun: true });
    expect(result.status).toBe("no-run");
    expect(await redis.exists(keys.log("7-2"), keys.seen("7-2"))).toBe(0);
  });

  it("commits a run with its effects and refuses a commit whose version moved", async () => {
    const key = "7-3";
    await store.append(key, labeled, { source: "d1", requiresRun: false });
    const base = await store.load(key);
    const [entry] = await store.pending(key, base.cursor);
    const effects = [{ kind: "load-config" as const, id: "7-3-1_intake_r0_v1_load-config" }];
    const outcome = { of: entry!.entryId, type: "issue.labeled" as const, applied: true, reason: "new run", stage: "intake", state: "active", effects: ["load-config"] };

    expect(await store.commit(key, base, { run: run(1), cursor: entry!.entryId, outcomes: [outcome], effects })).toBe(true);
    // A second applier that read the same base loses: nothing it wrote lands.
    expect(await store.commit(key, base, { run: run(1, { stage: "implement" }), cursor: entry!.entryId, outcomes: [], effects: [] })).toBe(false);

    const after = await store.load(key);
    expect(after).toMatchObject({ version: 1, cursor: entry!.entryId, run: { stage: "intake", id: "7-3-1" } });
    expect(await store.outbox(key)).toEqual(effects);
    expect(await store.pending(key, after.cursor)).toEqual([]);
    const history = await store.history(key);
    expect(history.map((item) => item.kind)).toEqual(["event", "outcome"]);

    await store.ackOutbox(key, [effects[0]!.id]);
    expect(await store.outbox(key)).toEqual([]);
  });

  it("moves the cursor past refused events without touching the run", async () => {
    const key = "7-4";
    await store.append(key, labeled, { source: "d2", requiresRun: false });
    const base = await store.load(key);
    const [entry] = await store.pending(key, base.cursor);
    await store.commit(key, base, { run: run(1), cursor: entry!.entryId, outcomes: [], effects: [] });
    await store.append(key, closed, { source: "d3", requiresRun: true });
    const second = await store.load(key);
    const [refused] = await store.pending(key, second.cursor);
    expect(await store.commit(key, second, { run: second.run, cursor: refused!.entryId, outcomes: [], effects: [] })).toBe(true);
    expect(await store.load(key)).toMatchObject({ version: 1, cursor: refused!.entryId });
  });

  it("indexes pull requests, branches and active runs; terminal runs leave the active set", async () => {
    const pr = { number: 12, branch: "conveyor/3-add-a-thing", headSha: "abc" };
    await store.index(run(2, { pr, workflowRunId: 99, stage: "implement" }));
    expect(await store.issueOfPullRequest(7, 12)).toBe("7-3");
    expect(await store.issueOfWorkflowRun(99)).toBe("7-3");
    // Branches are named after their issue; the run record confirms the branch is its own.
    await store.commit("7-3", await store.load("7-3"), { run: run(2, { pr }), cursor: "0-1", outcomes: [], effects: [] });
    expect(await store.issueOfBranch(7, pr.branch)).toBe("7-3");
    expect(await store.issueOfBranch(7, "conveyor/3-another-branch")).toBeNull();
    expect(await store.activeIssues()).toContain("7-3");
    await store.index(run(3, { pr, state: "cancelled" }));
    expect(await store.activeIssues()).not.toContain("7-3");
  });
});
