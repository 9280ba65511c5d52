// The engine on a real Redis without workers: ordering, exclusivity and refusals.
import { afterAll, describe, expect, it, vi } from "vitest";
import { Engine, timerJobId } from "../../src/queue/engine.js";
import { RunStore } from "../../src/queue/run-store.js";
import { createQueues, timerFired } from "../../src/queue/queues.js";
import { createRedis } from "../../src/queue/redis.js";
import { pino } from "pino";
import { at, events, REPO, testEngine } from "../support/engine.js";

const { engine, url, keys, queuePrefix, close } = testEngine();
afterAll(close);

const key = (issue: number) => `${REPO.id}-${issue}`;

async function startRun(issue: number) {
  await engine.submit(key(issue), events.labeled(issue), { source: `label-${issue}`, requiresRun: false });
  await engine.submit(key(issue), events.configLoaded(), { source: `config-${issue}`, requiresRun: false });
  await engine.apply(key(issue));
  // What the apply job enqueued is acknowledged with this process's next call, or shortly: now.
  await engine.flushAcks();
  return (await engine.store.load(key(issue))).run!;
}

describe("Engine.apply", () => {
  it("applies events in log order and commits effects into the outbox, then drains them into jobs", async () => {
    const run = await startRun(1);
    expect(run).toMatchObject({ stage: "implement", state: "active", version: 2 });
    // The outbox is drained: effects are jobs now, with the effect id as the job id.
    expect(await engine.store.outbox(key(1))).toEqual([]);
    const jobs = await engine.queues.effects.getJobs(["waiting"]);
    const kinds = jobs.filter((job) => job.data.issueKey === key(1)).map((job) => job.data.effect.kind).sort();
    expect(kinds).toEqual(["dispatch-implement", "load-config", "post-status"]);
    for (const job of jobs) expect(job.id).toBe(job.data.effect.id);
    // The implement deadline is a timer job (already due here: the events are dated in the past),
    // named by the timer, its id fixed by the set-timer effect's id.
    const timers = (await engine.queues.timers.getJobs(["delayed", "waiting"])).filter((job) => timerFired(job, at(9)).issueKey === key(1));
    expect(timers.map((job) => [job.id, timerFired(job, at(9)).event])).toEqual([
      [timerJobId(`${run.id}_implement_r0_v2_set-timer`), { type: "timer.fired", at: at(9), timer: "deadline", stage: "implement", round: 0, stageStartedAt: run.stageStartedAt }],
    ]);
  });

  it("never loses an update when two workers race on one run's events", async () => {
    await startRun(2);
    // A second engine with its own connection plays the other worker process.
    const redis = createRedis(url);
    const queues = createQueues(redis, queuePrefix);
    const rival = new Engine(new RunStore(redis, keys), queues, pino({ level: "silent" }));
    try {
      const N = 60;
      for (let i = 0; i < N; i++) {
        await engine.submit(key(2), events.status(1000 + i, at(10 + i)), { source: `status-${i}`, requiresRun: true });
        // Both appliers chase the log while it grows.
        if (i % 7 === 0) await Promise.all([engine.apply(key(2)), rival.apply(key(2))]);
      }
      const results = await Promise.all([engine.apply(key(2)), rival.apply(key(2)), engine.apply(key(2))]);
      const { run, version } = await engine.store.load(key(2));
      expect(version).toBe(2 + N); // one version per applied status command, none lost or doubled
      expect(run!.version).toBe(2 + N);
      const outcomes = (await engine.store.history(key(2))).flatMap((entry) => (entry.kind === "outcome" ? [entry.outcome] : []));
      const statusOutcomes = outcomes.filter((outcome) => outcome.type === "command.received");
      expect(statusOutcomes).toHaveLength(N);
      // Applied exactly in arrival order: outcome i refers to the i-th logged status event.
      const logged = (await engine.store.history(key(2))).flatMap((entry) => (entry.kind === "event" && entry.event.type === "command.received" ? [entry.entryId] : []));
      expect(statusOutcomes.map((outcome) => outcome.of)).toEqual(logged);
      expect(results.reduce((sum, result) => sum + result.applied, 0)).toBeLessThanOrEqual(N);
    } finally {
      await queues.close();
      await redis.quit();
    }
  });

  it("leaves the run unchanged for a late timer and logs why", async () => {
    const run = await startRun(3);
    await engine.submit(key(3), { type: "timer.fired", at: at(5), timer: "deadline", stage: "implement", round: 0, stageStartedAt: "2026-01-01T00:00:00.000Z" }, { source: "late-timer", requiresRun: true });
    await engine.apply(key(3));
    const after = await engine.store.load(key(3));
    expect(after.run).toEqual(run);
    const last = (await engine.store.history(key(3))).at(-1)!;
    expect(last.kind === "outcome" && last.outcome).toMatchObject({ type: "timer.fired", applied: false, reason: expect.stringMatching(/stale/) });
  });

  it("stores a duplicated event once", async () => {
    await startRun(4);
    const first = await engine.submit(key(4), events.status(1), { source: "delivery-dup", requiresRun: true });
    const second = await engine.submit(key(4), events.status(1), { source: "delivery-dup", requiresRun: true });
    expect([first.status, second.status]).toEqual(["appended", "duplicate"]);
    await engine.apply(key(4));
    expect((await engine.store.load(key(4))).version).toBe(3);
  });

  it("refuses an event for a cancelled run and says why", async () => {
    await startRun(5);
    await engine.submit(key(5), events.closed(), { source: "close", requiresRun: true });
    await engine.apply(key(5));
    const cancelled = await engine.store.load(key(5));
    expect(cancelled.run!.state).toBe("cancelled");
    // Webhook-borne events need a live run: nothing is even stored.
    expect((await engine.submit(key(5), events.status(7), { source: "late-command", requiresRun: true })).status).toBe("no-run");
    // An effect's late result is stored (requiresRun false) but refused by decide, with the reason logged.
    await engine.submit(key(5), { type: "implement.dispatched", at: at(9), round: 0, workflowRunId: 1 }, { source: "late-result", requiresRun: false });
    await engine.apply(key(5));
    expect((await engine.store.load(key(5))).run).toEqual(cancelled.run);
    const last = (await engine.store.history(key(5))).at(-1)!;
    expect(last.kind === "outcome" && last.outcome).toMatchObject({ applied: false, reason: expect.stringMatching(/cancelled/) });
  });

  it("re-drives a run whose events were logged but never applied (crash between append and wake)", async () => {
    await startRun(6);
    await engine.store.append(key(6), events.status(3), { source: "orphan", requiresRun: true }); // no wake
    const before = (await engine.store.load(key(6))).version;
    const swept = await engine.sweep();
    expect(swept.woken).toBeGreaterThanOrEqual(1);
    const apply = (await engine.queues.events.getJobs(["waiting"])).find((job) => job.data.issueKey === key(6));
    expect(apply).toBeDefined();
    await engine.apply(key(6));
    expect((await engine.store.load(key(6))).version).toBe(before + 1);
  });

  it("re-enqueues effects committed but never enqueued (crash between commit and drain)", async () => {
    await startRun(7);
    const base = await engine.store.load(key(7));
    // (Not a status update: those coalesce with the one startRun queued, see engine-compaction.test.ts.)
    const effect = { kind: "comment" as const, id: `${base.run!.id}_implement_r0_v99_comment`, body: "committed, then the process died" };
    await engine.store.commit(key(7), base, { run: base.run, cursor: base.cursor, outcomes: [], effects: [effect] });
    expect(await engine.store.outbox(key(7))).toEqual([effect]);
    const swept = await engine.sweep();
    expect(swept.drained).toBeGreaterThanOrEqual(1);
    expect(await engine.store.outbox(key(7))).toEqual([]);
    expect(await engine.queues.effects.getJob(effect.id)).toBeDefined();
  });
});

describe("Engine.submitAndApply (an effect's or timer's result, in its worker)", () => {
  const dispatched = (workflowRunId: number) => ({ type: "implement.dispatched" as const, at: at(9), round: 0, workflowRunId });

  it("appends and commits a result decided on the run the worker holds in one round trip, with the outcome naming its entry", async () => {
    const run = await startRun(11);
    const commits = vi.spyOn(engine.store, "commitWith");
    try {
      const result = await engine.submitAndApply(key(11), dispatched(71), { source: "dispatch-11", requiresRun: false, known: run });
      expect(result.status).toBe("appended");
      expect(commits).not.toHaveBeenCalled();
      const after = await engine.store.load(key(11));
      expect(after.run).toMatchObject({ version: run.version + 1, workflowRunId: 71 });
      expect(after.cursor).toBe(result.status === "appended" && result.entryId);
      const history = await engine.store.history(key(11));
      const outcome = history.at(-1)!;
      expect(outcome.kind === "outcome" && outcome.outcome).toMatchObject({ of: after.cursor, type: "implement.dispatched", applied: true, stage: "implement" });
      // Its effect (a status update) joined the status job startRun queued; the outbox is acknowledged.
      expect(await engine.store.outbox(key(11))).toHaveLength(1);
      await engine.flushAcks();
      expect(await engine.store.outbox(key(11))).toEqual([]);
      expect(await engine.submitAndApply(key(11), dispatched(71), { source: "dispatch-11", requiresRun: false, known: after.run })).toEqual({ status: "duplicate" });
      expect((await engine.store.load(key(11))).version).toBe(run.version + 1);
    } finally {
      commits.mockRestore();
    }
  });

  it("applies in log order when another event waits before the result: the webhook first, then the result", async () => {
    const run = await startRun(12);
    await engine.store.append(key(12), events.status(1201), { source: "comment-12", requiresRun: true }); // its apply job has not run yet
    await engine.submitAndApply(key(12), dispatched(72), { source: "dispatch-12", requiresRun: false, known: run });
    const outcomes = (await engine.store.history(key(12))).flatMap((entry) => (entry.kind === "outcome" ? [entry.outcome.type] : []));
    expect(outcomes.slice(-2)).toEqual(["command.received", "implement.dispatched"]);
    expect((await engine.store.load(key(12))).run).toMatchObject({ version: run.version + 2, workflowRunId: 72 });
  });

  it("decides on the stored run when the one the worker holds is stale (another process moved it)", async () => {
    const run = await startRun(13);
    const redis = createRedis(url);
    const queues = createQueues(redis, queuePrefix);
    const rival = new Engine(new RunStore(redis, keys), queues, pino({ level: "silent" }), {}, { statusDelayMs: 0 });
    try {
      await rival.submit(key(13), events.closed(), { source: "close-13", requiresRun: true });
      await rival.apply(key(13));
      await engine.submitAndApply(key(13), dispatched(73), { source: "dispatch-13", requiresRun: false, known: run });
      const after = await engine.store.load(key(13));
      expect(after.run).toMatchObject({ state: "cancelled", workflowRunId: null, version: run.version + 1 });
      const last = (await engine.store.history(key(13))).at(-1)!;
      expect(last.kind === "outcome" && last.outcome).toMatchObject({ type: "implement.dispatched", applied: false, reason: expect.stringMatching(/cancelled/) });
    } finally {
      await queues.close();
      await redis.quit();
    }
  });
});

describe("Engine.runFor (the run an effect job executes against)", () => {
  it("is the run at the version that decided the effect when this process committed it; else, and for status updates, the stored run", async () => {
    const run = await startRun(14);
    const reads = vi.spyOn(engine.store, "readState");
    try {
      const dispatch = { kind: "dispatch-implement" as const, id: `${run.id}_implement_r0_v${run.version}_dispatch-implement`, round: 0, feedback: null };
      expect(await engine.runFor(key(14), dispatch)).toEqual(run);
      expect(reads).not.toHaveBeenCalled();

      expect(await engine.runFor(key(14), { kind: "post-status", id: `${run.id}_implement_r0_v${run.version}_post-status` })).toEqual(run);
      expect(reads).toHaveBeenCalledTimes(1);

      // Another process moved the run: an effect decided later than what this process knows is read.
      const older = { ...dispatch, id: `${run.id}_implement_r0_v${run.version + 1}_dispatch-implement` };
      expect(await engine.runFor(key(14), older)).toEqual(run);
      expect(reads).toHaveBeenCalledTimes(2);
    } finally {
      reads.mockRestore();
    }
  });
});
