// Firing schedules on a real Redis and real BullMQ: the misfire policy with an injected clock
// (no sleeping), firing once under retries and two instances, each overlap policy, and pause,
// resume, trigger and backfill.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Worker } from "bullmq";
import { createSpawn } from "../../src/app/schedules/spawn.js";
import { RetryLaterError } from "../../src/queue/failures.js";
import { BufferedFiring, startScheduleWorker, type ScheduleHandlers, type ScheduleJobData, type SpawnTasks } from "../../src/queue/schedulers.js";
import { firingKey } from "../../src/schedules/timing.js";
import { fakeGitHub } from "../support/github/fake-github.js";
import { SCHED_REPO, manualClock, silentLog, syncInput, testProbot, testSchedulers, type TestSchedulers } from "../support/schedules.js";

const HOUR = 3_600_000;
const T = Date.parse("2026-11-23T08:00:00Z");
const repoParams = { owner: SCHED_REPO.owner, repo: SCHED_REPO.name };

let t: TestSchedulers;
let clock: ReturnType<typeof manualClock>;
const workers: Worker[] = [];

beforeEach(() => {
  clock = manualClock(T - 30 * 60_000);
  t = testSchedulers({ clock: clock.now, fireJobOptions: { backoff: { type: "fixed", delay: 50 } }, bufferPollMs: 100 });
});
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.close();
  await t.close();
});

const hourly = (extra: Record<string, unknown> = {}) => ({ id: "hourly", every: "1h", openIssue: { title: "Hourly {{time}}" }, ...extra });

async function fireJobs() {
  const jobs = await t.queue.getJobs(["delayed", "waiting"]);
  return jobs
    .filter((job) => job.data.kind === "fire")
    .map((job) => (job.data as Extract<ScheduleJobData, { kind: "fire" }>).scheduledFor)
    .sort((a, b) => a - b);
}

/** A spawn that opens issue 100, 101, … and counts its calls. */
function countingSpawn() {
  let next = 100;
  const calls: string[] = [];
  const spawn: SpawnTasks = async (firing) => {
    calls.push(firing.key);
    return [{ issue: next++, opened: true }];
  };
  return { spawn, calls };
}

describe("the misfire policy, with an injected clock", () => {
  async function downAcrossThreeDueTimes(misfire: unknown) {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ misfire })]));
    // Due at T, T+1h, T+2h; the worker was down and sees the T tick at T+2h20m.
    clock.set(T + 2 * HOUR + 20 * 60_000);
    return t.schedulers.tick(SCHED_REPO.id, "hourly", T);
  }

  it("skip: fires nothing and logs the three misses", async () => {
    expect(await downAcrossThreeDueTimes("skip")).toEqual({ outcome: "nothing to fire", fired: [], missed: 3 });
    expect(await fireJobs()).toEqual([]);
    const [log] = await t.schedulers.history(SCHED_REPO.id, "hourly", 1);
    expect(log).toMatchObject({ outcome: "missed", reason: "misfire", detail: expect.stringMatching(/^3 due times missed \(misfire: skip\)/) });
  });

  it("run-once: fires once, for the latest due time", async () => {
    expect(await downAcrossThreeDueTimes("run-once")).toMatchObject({ fired: [T + 2 * HOUR], missed: 2 });
    expect(await fireJobs()).toEqual([T + 2 * HOUR]);
  });

  it("catch-up: fires each missed time inside its window", async () => {
    expect(await downAcrossThreeDueTimes({ policy: "catch-up", window: "2h" })).toMatchObject({ fired: [T + HOUR, T + 2 * HOUR], missed: 1 });
    expect(await fireJobs()).toEqual([T + HOUR, T + 2 * HOUR]);
    // The later ticks of the same outage find those times handled and fire nothing more.
    expect(await t.schedulers.tick(SCHED_REPO.id, "hourly", T + HOUR)).toMatchObject({ fired: [], missed: 0 });
    expect(await fireJobs()).toEqual([T + HOUR, T + 2 * HOUR]);
  });

  it("a clock that jumped back keeps the tick waiting; a jump forward is a misfire", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly()]));
    clock.set(T - 30 * 60_000);
    expect(await t.schedulers.tick(SCHED_REPO.id, "hourly", T)).toEqual({ outcome: "early", fired: [], missed: 0, waitUntil: T });
    clock.set(T + 5 * HOUR + 1_000);
    expect(await t.schedulers.tick(SCHED_REPO.id, "hourly", T)).toMatchObject({ fired: [T + 5 * HOUR], missed: 5 });
  });

  it("spreads firings by their jitter, the same for every instance", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ jitter: "10m" })]));
    clock.set(T);
    await t.schedulers.tick(SCHED_REPO.id, "hourly", T);
    const [job] = (await t.queue.getJobs(["delayed", "waiting"])).filter((j) => j.data.kind === "fire");
    expect(job!.id).toBe(`fire-${firingKey(SCHED_REPO.id, "hourly", T)}`);
    expect(job!.opts.delay).toBeGreaterThanOrEqual(0);
    expect(job!.opts.delay).toBeLessThan(10 * 60_000);
  });
});

describe("firing once", () => {
  it("spawns its issue exactly once when the job is retried after a failure, and a repeated firing does nothing", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ openIssue: { title: "Triage {{date}}", body: "Look at the new issues.\n\n{{summary}}", labels: ["triage"] } })]));
    const probot = testProbot();
    const gh = fakeGitHub().installationToken({ installationId: SCHED_REPO.installationId });
    gh.on("POST /repos/{owner}/{repo}/issues", repoParams, { status: 201, body: { number: 77 } });
    // Labelling fails once (GitHub 502): the job is retried; the issue exists, so it is only labelled.
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repoParams, issue_number: 77 }, { status: 502, body: { message: "Bad gateway" } });
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repoParams, issue_number: 77 }, { status: 200, body: [{ name: "conveyor" }] });
    const spawn = createSpawn((id) => probot.auth(id));
    workers.push(startScheduleWorker({ connection: t.redis, prefix: t.queuePrefix, schedulers: t.schedulers, handlers: handlers({ spawn }), log: silentLog }));

    // The tick fires inline (as the worker's tick does); its failure hands the firing to a fire job.
    clock.set(T + 5_000);
    await t.schedulers.tick(SCHED_REPO.id, "hourly", T, (data) => t.schedulers.fire(data, spawn, async () => null));
    const key = firingKey(SCHED_REPO.id, "hourly", T);
    await until(async () => (await t.schedulers.firingStatus(SCHED_REPO.id, key)).status === "done");

    const [created] = gh.calls("POST /repos/{owner}/{repo}/issues");
    expect(gh.calls("POST /repos/{owner}/{repo}/issues")).toHaveLength(1);
    expect(created!.body).toMatchObject({ title: "Triage 2026-11-23", labels: ["triage"] });
    const body = (created!.body as { body: string }).body;
    expect(body).toContain("Look at the new issues.");
    expect(body).toContain("Opened by Conveyor schedule `hourly` (every 1h), on schedule.");
    expect(body).toContain(`<!-- conveyor:firing=${key} -->`);
    expect(gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/labels").map((c) => c.body)).toEqual([{ labels: ["conveyor"] }, { labels: ["conveyor"] }]);
    const [log] = await t.schedulers.history(SCHED_REPO.id, "hourly", 1);
    expect(log).toMatchObject({ scheduledFor: T, outcome: "fired", tasks: [77], version: "a".repeat(40), reason: "schedule" });
    expect(log!.firedAt).toBeGreaterThanOrEqual(T);

    // The same firing again (a second tick, a crash replay): nothing reaches GitHub.
    await t.queue.add("fire", { kind: "fire", repoId: SCHED_REPO.id, scheduleId: "hourly", scheduledFor: T, reason: "schedule" }, { jobId: "replay-1" });
    await until(async () => (await t.queue.getJobState("replay-1")) === "completed");
    expect((await t.queue.getJob("replay-1"))!.returnvalue).toMatchObject({ outcome: "duplicate" });
    gh.done();
  });

  it("finds the issue an attempt opened before it died, by its marker, instead of opening another", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly()]));
    const probot = testProbot();
    const gh = fakeGitHub().installationToken({ installationId: SCHED_REPO.installationId });
    const key = firingKey(SCHED_REPO.id, "hourly", T);
    // The dead attempt had marked "creating" and opened #88, but never wrote the number down.
    await t.redis.hset(t.schedulers.keys.firing(SCHED_REPO.id, key), "ledger:creating", "1");
    gh.on("GET /search/issues", {}, { status: 200, body: { total_count: 1, incomplete_results: false, items: [{ number: 88, body: `x\n<!-- conveyor:firing=${key} -->` }] } });
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repoParams, issue_number: 88 }, { status: 200, body: [] });
    clock.set(T);
    const result = await t.schedulers.fire({ repoId: SCHED_REPO.id, scheduleId: "hourly", scheduledFor: T, reason: "schedule" }, createSpawn((id) => probot.auth(id)), async () => null, 2);
    expect(result).toMatchObject({ outcome: "fired", tasks: [88] });
    expect(gh.calls("GET /search/issues")[0]!.query.q).toBe(`repo:acme/widgets is:issue in:body "conveyor:firing=${key}"`);
    gh.done();
  });

  it("fires once when two instances run the same firing at the same time", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly()]));
    const other = t.another({ clock: clock.now });
    const { spawn, calls } = countingSpawn();
    const slow: SpawnTasks = async (firing, ledger) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return spawn(firing, ledger);
    };
    clock.set(T);
    const data = { repoId: SCHED_REPO.id, scheduleId: "hourly", scheduledFor: T, reason: "schedule" as const };
    const results = await Promise.allSettled([t.schedulers.fire(data, slow, async () => null), other.fire(data, slow, async () => null)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({ reason: expect.any(RetryLaterError) });
    // The loser's retry finds the firing done.
    expect(await other.fire(data, slow, async () => null)).toMatchObject({ outcome: "duplicate" });
    expect(calls).toHaveLength(1);
  });

  it("labels the issues a search finds, at most the limit, skipping pull requests", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([{ id: "stale", every: "1d", labelIssues: { query: "label:stale no:assignee", limit: 2 } }]));
    const probot = testProbot();
    const gh = fakeGitHub().installationToken({ installationId: SCHED_REPO.installationId });
    gh.on("GET /search/issues", {}, { status: 200, body: { total_count: 3, incomplete_results: false, items: [{ number: 3 }, { number: 4, pull_request: {} }, { number: 5 }] } });
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repoParams, issue_number: 3 }, { status: 200, body: [] });
    gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { ...repoParams, issue_number: 5 }, { status: 200, body: [] });
    clock.set(T);
    const result = await t.schedulers.fire({ repoId: SCHED_REPO.id, scheduleId: "stale", scheduledFor: T, reason: "schedule" }, createSpawn((id) => probot.auth(id)), async () => null);
    expect(result).toMatchObject({ outcome: "fired", tasks: [3, 5] });
    expect(gh.calls("GET /search/issues")[0]!.query).toMatchObject({ q: "repo:acme/widgets is:issue is:open -label:conveyor label:stale no:assignee", per_page: "2" });
    gh.done();
  });
});

describe("the overlap policy", () => {
  const fire = (scheduledFor: number, spawn: SpawnTasks, states: Map<number, string | null>) =>
    t.schedulers.fire({ repoId: SCHED_REPO.id, scheduleId: "hourly", scheduledFor, reason: "schedule" }, spawn, async (_repo, issue) => states.get(issue) ?? null);

  it("skip: a firing while the previous one's run is active is skipped and logged", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ overlap: "skip" })]));
    const { spawn } = countingSpawn();
    const states = new Map<number, string | null>();
    clock.set(T);
    expect(await fire(T, spawn, states)).toMatchObject({ outcome: "fired", tasks: [100] });
    states.set(100, "active");
    clock.set(T + HOUR);
    expect(await fire(T + HOUR, spawn, states)).toMatchObject({ outcome: "skipped", tasks: [] });
    expect((await t.schedulers.history(SCHED_REPO.id, "hourly", 1))[0]).toMatchObject({ outcome: "skipped", detail: "1 task of the previous firing still running (overlap: skip)" });
    states.set(100, "done");
    clock.set(T + 2 * HOUR);
    expect(await fire(T + 2 * HOUR, spawn, states)).toMatchObject({ outcome: "fired", tasks: [101] });
  });

  it("allow: fires whatever still runs", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ overlap: "allow" })]));
    const { spawn } = countingSpawn();
    const states = new Map<number, string | null>([[100, "active"]]);
    clock.set(T);
    await fire(T, spawn, states);
    expect(await fire(T + HOUR, spawn, states)).toMatchObject({ outcome: "fired", tasks: [101] });
  });

  it("buffer-one: keeps one firing waiting until the previous run finishes, and drops the next", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ overlap: "buffer-one" })]));
    const { spawn, calls } = countingSpawn();
    const states = new Map<number, string | null>();
    clock.set(T);
    await fire(T, spawn, states);
    states.set(100, "active");
    await expect(fire(T + HOUR, spawn, states)).rejects.toBeInstanceOf(BufferedFiring);
    await expect(fire(T + HOUR, spawn, states)).rejects.toBeInstanceOf(BufferedFiring);
    expect(await fire(T + 2 * HOUR, spawn, states)).toMatchObject({ outcome: "dropped" });
    expect((await t.schedulers.list(SCHED_REPO.id)).schedules[0]!.buffered).toBe(firingKey(SCHED_REPO.id, "hourly", T + HOUR));
    states.set(100, "done");
    expect(await fire(T + HOUR, spawn, states)).toMatchObject({ outcome: "fired", tasks: [101] });
    expect(calls).toEqual([firingKey(SCHED_REPO.id, "hourly", T), firingKey(SCHED_REPO.id, "hourly", T + HOUR)]);
    expect((await t.schedulers.list(SCHED_REPO.id)).schedules[0]!.buffered).toBeNull();
  });

  it("buffer-one through the worker: the buffered job waits (delayed, no attempt used) and fires when the run ends", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ overlap: "buffer-one" })]));
    const { spawn, calls } = countingSpawn();
    const states = new Map<number, string | null>();
    workers.push(startScheduleWorker({ connection: t.redis, prefix: t.queuePrefix, schedulers: t.schedulers, handlers: handlers({ spawn, runStateOf: async (_r, issue) => states.get(issue) ?? null }), log: silentLog }));
    clock.set(T);
    await t.schedulers.tick(SCHED_REPO.id, "hourly", T);
    await until(async () => calls.length === 1);
    states.set(100, "active");
    clock.set(T + HOUR);
    await t.schedulers.tick(SCHED_REPO.id, "hourly", T + HOUR);
    const jobId = `fire-${firingKey(SCHED_REPO.id, "hourly", T + HOUR)}`;
    await until(async () => (await t.queue.getJobState(jobId)) === "delayed");
    expect(calls).toHaveLength(1);
    states.set(100, "cancelled");
    await until(async () => (await t.queue.getJobState(jobId)) === "completed");
    expect(calls).toHaveLength(2);
    // Waiting used no attempt: the job completed on its first.
    expect((await t.queue.getJob(jobId))!.attemptsMade).toBe(1);
  });
});

describe("operating schedules", () => {
  it("pause stops the ticks, resume starts them again without catching up the paused time", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ misfire: "catch-up" })]));
    clock.set(T);
    expect(await t.schedulers.pause(SCHED_REPO.id, "hourly", "maria")).toEqual({ changed: true });
    expect(await t.queue.getJobScheduler("s-501-hourly")).toBeUndefined();
    expect((await t.schedulers.list(SCHED_REPO.id)).schedules[0]).toMatchObject({ status: "paused", next: null });
    // A tick already in flight when it was paused does nothing.
    expect(await t.schedulers.tick(SCHED_REPO.id, "hourly", T)).toMatchObject({ outcome: "paused" });
    // A config sync while paused keeps it paused.
    expect((await t.schedulers.sync(SCHED_REPO, syncInput([hourly({ misfire: "catch-up" })]))).paused).toEqual(["hourly"]);
    expect(await t.queue.getJobScheduler("s-501-hourly")).toBeUndefined();

    clock.set(T + 3 * HOUR + 60_000);
    expect(await t.schedulers.resume(SCHED_REPO.id, "hourly", "maria")).toMatchObject({ changed: true });
    expect(await t.queue.getJobScheduler("s-501-hourly")).toBeDefined();
    // Even catch-up does not fire what came due while paused.
    expect(await t.schedulers.tick(SCHED_REPO.id, "hourly", T + 3 * HOUR)).toMatchObject({ fired: [], missed: 0 });
    clock.set(T + 4 * HOUR);
    expect(await t.schedulers.tick(SCHED_REPO.id, "hourly", T + 4 * HOUR)).toMatchObject({ fired: [T + 4 * HOUR] });
    expect((await t.schedulers.history(SCHED_REPO.id, "hourly", 5)).map((e) => e.outcome)).toEqual(["resumed", "paused", "registered"]);
  });

  it("trigger fires now, even when paused and whatever the overlap; the same trigger twice fires once", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly()]));
    await t.schedulers.pause(SCHED_REPO.id, "hourly", "maria");
    const { spawn, calls } = countingSpawn();
    const at = T + 17 * 60_000;
    const key = await t.schedulers.trigger(SCHED_REPO.id, "hourly", { at, by: "maria" });
    expect(await t.schedulers.trigger(SCHED_REPO.id, "hourly", { at, by: "maria" })).toBe(key);
    const jobs = (await t.queue.getJobs(["waiting"])).filter((job) => job.data.kind === "fire");
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data).toMatchObject({ reason: "trigger", scheduledFor: at, by: "maria" });
    clock.set(at);
    expect(await t.schedulers.fire(jobs[0]!.data as never, spawn, async () => "active")).toMatchObject({ outcome: "fired" });
    expect(await t.schedulers.fire(jobs[0]!.data as never, spawn, async () => "active")).toMatchObject({ outcome: "duplicate" });
    expect(calls).toEqual([key]);
    await expect(t.schedulers.trigger(SCHED_REPO.id, "nope", { by: "maria" })).rejects.toThrow(/no schedule "nope"/);
  });

  it("backfill fires every due time in the range that has not fired, and refuses huge ranges", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([hourly()]));
    const { spawn, calls } = countingSpawn();
    clock.set(T + 10 * HOUR);
    await t.schedulers.fire({ repoId: SCHED_REPO.id, scheduleId: "hourly", scheduledFor: T + HOUR, reason: "schedule" }, spawn, async () => null);
    const { due } = await t.schedulers.backfill(SCHED_REPO.id, "hourly", T, T + 2 * HOUR, "maria");
    expect(due).toEqual([T, T + HOUR, T + 2 * HOUR]);
    const jobs = (await t.queue.getJobs(["waiting"])).filter((job) => job.data.kind === "fire");
    const outcomes = [];
    for (const job of jobs.sort((a, b) => (a.data as { scheduledFor: number }).scheduledFor - (b.data as { scheduledFor: number }).scheduledFor)) {
      outcomes.push((await t.schedulers.fire(job.data as never, spawn, async () => "active")).outcome);
    }
    expect(outcomes).toEqual(["fired", "duplicate", "fired"]);
    expect(calls).toHaveLength(3);
    await expect(t.schedulers.backfill(SCHED_REPO.id, "hourly", T, T + 100 * HOUR, "maria")).rejects.toThrow(/101 due times in that range; backfill at most 50/);
  });
});

describe("the job scheduler itself", () => {
  it("ticks on time and fires through the worker, with the real clock", async () => {
    const real = testSchedulers();
    try {
      const { spawn, calls } = countingSpawn();
      workers.push(startScheduleWorker({ connection: real.redis, prefix: real.queuePrefix, schedulers: real.schedulers, handlers: handlers({ spawn }), log: silentLog }));
      await real.schedulers.sync(SCHED_REPO, syncInput([{ id: "fast", every: "1s", overlap: "allow", openIssue: { title: "x" } }]));
      await until(async () => calls.length >= 2, 5_000);
      const log = await real.schedulers.history(SCHED_REPO.id, "fast", 5);
      const fired = log.filter((e) => e.outcome === "fired");
      expect(fired.length).toBeGreaterThanOrEqual(2);
      for (const entry of fired) {
        expect(entry.scheduledFor % 1_000).toBe(0);
        expect(entry.firedAt - entry.scheduledFor).toBeLessThan(1_000);
      }
    } finally {
      for (const worker of workers.splice(0)) await worker.close();
      await real.close();
    }
  });
});

function handlers(overrides: Partial<ScheduleHandlers>): ScheduleHandlers {
  const unused = async () => {
    throw new Error("not used in this test");
  };
  return { spawn: unused, runStateOf: async () => null, sync: unused, command: unused, resyncAll: unused, reconcileDeliveries: unused, cleanupRuns: unused, ...overrides };
}

async function until(probe: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("condition not reached in time");
}

describe("firing delay", () => {
  it("tells the onFiring hook (the metric) when each firing ran against its due time", async () => {
    const seen: { scheduleId: string; outcome: string; reason: string; delayMs: number }[] = [];
    const observed = testSchedulers({ clock: clock.now, onFiring: (f) => seen.push({ scheduleId: f.scheduleId, outcome: f.outcome, reason: f.reason, delayMs: f.firedAt - f.scheduledFor }) });
    try {
      await observed.schedulers.sync(SCHED_REPO, syncInput([hourly()]));
      const { spawn } = countingSpawn();
      clock.set(T + 5_000);
      await observed.schedulers.tick(SCHED_REPO.id, "hourly", T, (data) => observed.schedulers.fire(data, spawn, async () => null));
      expect(seen).toEqual([{ scheduleId: "hourly", outcome: "fired", reason: "schedule", delayMs: 5_000 }]);
    } finally {
      await observed.close();
    }
  });
});
