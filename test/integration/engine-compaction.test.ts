// The engine's space and time savers on a real Redis and real BullMQ: log compaction into the
// archive, one timer job per slot, coalesced status updates, seen marks in one sorted set, and
// the store's compact encodings. Each keeps what the plain design promised: the whole history,
// no unapplied event lost, no stale timer acted on, no status left behind the run, no event
// applied twice.
import { createHash } from "node:crypto";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/pipeline/config.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import type { Run } from "../../src/pipeline/run.js";
import { DICTIONARY_V1_SHA1, FORMAT_RUN_V1, packArchiveFrame, packRecord, RUN_DICTIONARY_OFFSET, unpackArchive, unpackRecord } from "../../src/queue/codec.js";
import { DICTIONARY_V1 } from "../../src/queue/codec-dictionary.js";
import { Engine, timerJobId } from "../../src/queue/engine.js";
import { createQueues, timerFired } from "../../src/queue/queues.js";
import { createRedis } from "../../src/queue/redis.js";
import { ledgerField, RunStore, SEEN_TTL_SECONDS } from "../../src/queue/run-store.js";
import { startWorkers, type ExecuteEffect } from "../../src/queue/workers.js";
import { at, events, REPO, testEngine } from "../support/engine.js";

const { engine, url, keys, queuePrefix, redis, close } = testEngine();
const store = engine.store;
afterAll(close);

const key = (issue: number) => `${REPO.id}-${issue}`;
const SHA = "c0ffee0000000000000000000000000000000000";

async function startRun(issue: number): Promise<Run> {
  await engine.submit(key(issue), events.labeled(issue), { source: `label-${issue}`, requiresRun: false });
  await engine.submit(key(issue), events.configLoaded(), { source: `config-${issue}`, requiresRun: false });
  await engine.apply(key(issue));
  // What the apply job enqueued is acknowledged with this process's next call, or shortly: now.
  await engine.flushAcks();
  return (await store.load(key(issue))).run!;
}

/** Appends an effect's result (requiresRun false, as workers do) and applies it. */
async function result(issue: number, event: PipelineEvent, source: string): Promise<Run> {
  await engine.submit(key(issue), event, { source, requiresRun: false });
  await engine.apply(key(issue));
  return (await store.load(key(issue))).run!;
}

const flow = {
  dispatched: (round = 0): PipelineEvent => ({ type: "implement.dispatched", at: at(10), round, workflowRunId: 4242 }),
  finished: (): PipelineEvent => ({ type: "implement.finished", at: at(20), round: 0, workflowRunId: 4242, outcome: "changed", detail: "" }),
  opened: (issue: number): PipelineEvent => ({ type: "pr.opened", at: at(30), round: 0, pr: { number: 900 + issue, branch: `conveyor/${issue}-add-a-widget`, headSha: SHA } }),
  reviewed: (): PipelineEvent => ({
    type: "review.finished",
    at: at(40),
    round: 0,
    sha: SHA,
    outcomes: DEFAULT_CONFIG.review.angles.map((angle) => ({ angle, status: "ok" as const, blocking: 0, total: 0 })),
    blocking: [],
    tokens: 10,
  }),
  ciGreen: (): PipelineEvent => ({ type: "ci.finished", at: at(50), sha: SHA, conclusion: "success", failing: [] }),
};

/** A run taken from the label to approval, applying after each event as the workers would. */
async function toApproval(issue: number): Promise<Run> {
  await startRun(issue);
  await result(issue, flow.dispatched(), `dispatch-${issue}`);
  await result(issue, flow.finished(), `inspect-${issue}`);
  await result(issue, flow.opened(issue), `open-${issue}`);
  await result(issue, flow.reviewed(), `review-${issue}`);
  return result(issue, flow.ciGreen(), `ci-${issue}`);
}

async function timerJobsOf(issue: number) {
  const jobs = await engine.queues.timers.getJobs(["delayed", "waiting", "active"]);
  return jobs.filter((job) => timerFired(job, at()).issueKey === key(issue));
}

describe("log compaction", () => {
  it("archives applied history when the run waits, and history() still returns all of it, in order", async () => {
    const run = await toApproval(1);
    expect(run).toMatchObject({ stage: "approval", state: "active" });
    const history = await store.history(key(1));
    // Seven events (label, config, dispatch, inspect, PR, review, CI), each with its outcome.
    const events7 = history.filter((entry) => entry.kind === "event");
    expect(events7.map((entry) => entry.kind === "event" && entry.event.type)).toEqual([
      "issue.labeled",
      "config.loaded",
      "implement.dispatched",
      "implement.finished",
      "pr.opened",
      "review.finished",
      "ci.finished",
    ]);
    expect(history).toHaveLength(14);
    const ids = history.map((entry) => entry.entryId);
    expect([...ids].sort(compareIds)).toEqual(ids);
    for (const event of events7) expect(history.filter((entry) => entry.kind === "outcome" && entry.outcome.of === event.entryId)).toHaveLength(1);

    // Everything was applied, so the stream is gone and the archive holds it all.
    expect(await redis.exists(keys.log(key(1)))).toBe(0);
    const archive = await redis.getBuffer(keys.archive(key(1)));
    expect(unpackArchive(archive).map(([id]) => id)).toEqual(ids);
    // The waiting run's record is stored compressed, and reads back as the same run.
    expect((await redis.getBuffer(keys.run(key(1))))![0]).toBe(FORMAT_RUN_V1);
    expect((await store.load(key(1))).run).toEqual(run);

    // The run goes on: new entries are numbered after the archived ones and applied as usual.
    const after = await result(1, { type: "command.received", at: at(60), login: "maria", isBot: false, command: { name: "status", args: [], commentId: 77, text: "/conveyor status" } }, "status-77");
    expect(after.version).toBe(run.version + 1);
    const full = await store.history(key(1));
    expect(full.slice(0, history.length)).toEqual(history);
    expect(full.map((entry) => entry.entryId).sort(compareIds)).toEqual(full.map((entry) => entry.entryId));
    expect(compareIds(full.at(-2)!.entryId, ids.at(-1)!)).toBeGreaterThan(0);
  });

  it("numbers a new stream after the archive even when the clock is behind it", async () => {
    await toApproval(2);
    expect(await redis.exists(keys.log(key(2)))).toBe(0);
    // Pretend the archive ends in the future (a clock that went back since).
    const future = `${Date.now() + 86_400_000}-5`;
    await redis.hset(keys.meta(key(2)), "archived", future);
    const appended = await store.append(key(2), events.status(5, at(70)), { source: "status-5", requiresRun: true });
    expect(appended).toEqual({ status: "appended", entryId: `${future.split("-")[0]}-6` });
    expect((await store.pending(key(2), (await store.load(key(2))).cursor)).map((entry) => entry.entryId)).toEqual([`${future.split("-")[0]}-6`]);
  });

  it("never archives an event nobody applied, and never loses or repeats one, under concurrent appends, applies and compactions", async () => {
    await startRun(3);
    const rival = new RunStore(createRedis(url), keys);
    try {
      const N = 80;
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) {
        work.push(store.append(key(3), events.status(3000 + i, at(100 + i)), { source: `c-${i}`, requiresRun: true }));
        if (i % 3 === 0) work.push(engine.apply(key(3)));
        if (i % 2 === 0) work.push(store.compact(key(3)), rival.compact(key(3)));
        if (i % 10 === 0) await Promise.all(work.splice(0));
      }
      await Promise.all(work);
      // An unapplied event is never moved: compaction with events pending keeps them pending.
      const before = await store.load(key(3));
      const pending = await store.pending(key(3), before.cursor);
      await Promise.all([store.compact(key(3)), rival.compact(key(3))]);
      expect(await store.pending(key(3), before.cursor)).toEqual(pending);
      await engine.apply(key(3));
      await store.compact(key(3));

      const { version } = await store.load(key(3));
      expect(version).toBe(2 + N);
      const history = await store.history(key(3));
      const commands = history.filter((entry) => entry.kind === "event" && entry.event.type === "command.received");
      expect(commands).toHaveLength(N);
      const outcomes = history.flatMap((entry) => (entry.kind === "outcome" && entry.outcome.type === "command.received" ? [entry.outcome] : []));
      // Each event applied exactly once, in log order.
      expect(outcomes.map((outcome) => outcome.of)).toEqual(commands.map((entry) => entry.entryId));
      expect(outcomes.every((outcome) => outcome.applied)).toBe(true);
      const ids = history.map((entry) => entry.entryId);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort(compareIds)).toEqual(ids);
    } finally {
      await rival.redis.quit();
    }
  });
});

describe("timers", () => {
  it("keeps one timer job per run: each stage's deadline replaces the last, and approval's reminder re-arms in its place", async () => {
    const run = await startRun(10);
    const [first] = await timerJobsOf(10);
    expect(first).toBeDefined();
    expect(first!.name).toBe("deadline");
    expect(first!.id).toBe(timerJobId(`${run.id}_implement_r0_v2_set-timer`));

    await result(10, flow.dispatched(), "d-10");
    await result(10, flow.finished(), "f-10");
    const review = await result(10, flow.opened(10), "o-10");
    expect(review.stage).toBe("review");
    let jobs = await timerJobsOf(10);
    expect(jobs.map((job) => [job.name, timerFired(job, at()).event])).toEqual([["deadline", expect.objectContaining({ stage: "review", stageStartedAt: review.stageStartedAt })]]);
    expect(await engine.queues.timers.getJob(first!.id!)).toBeUndefined();

    await result(10, flow.reviewed(), "r-10");
    const approval = await result(10, flow.ciGreen(), "c-10");
    expect(approval.stage).toBe("approval");
    jobs = await timerJobsOf(10);
    expect(jobs.map((job) => job.name)).toEqual(["reminder"]);
    const [tD, tR] = await redis.hmget(keys.meta(key(10)), "tD", "tR");
    expect([tD, tR]).toEqual([null, jobs[0]!.id]);

    // A late timer (the implement deadline, fired anyway) is still refused as stale.
    await engine.submit(key(10), timerFired(first!, at(90)).event, { source: first!.id!, requiresRun: true });
    await engine.apply(key(10));
    const last = (await store.history(key(10))).at(-1)!;
    expect(last.kind === "outcome" && last.outcome).toMatchObject({ type: "timer.fired", applied: false, reason: expect.stringMatching(/stale deadline timer/) });
    expect((await store.load(key(10))).run).toEqual(approval);

    // A reminder arms the next one (the expiry is days away) in its place.
    const reminder = jobs[0]!;
    await engine.submit(key(10), timerFired(reminder, at(95)).event, { source: reminder.id!, requiresRun: true });
    await engine.apply(key(10));
    const rearmed = await timerJobsOf(10);
    expect(rearmed.map((job) => job.name)).toEqual(["reminder"]);
    expect(rearmed[0]!.id).not.toBe(tR);

    // A run that leaves `active` drops its timers: none of them could act on it any more.
    await engine.submit(key(10), events.closed(at(99)), { source: "close-10", requiresRun: true });
    await engine.apply(key(10));
    expect((await store.load(key(10))).run!.state).toBe("cancelled");
    expect(await timerJobsOf(10)).toEqual([]);
    expect(await redis.hmget(keys.meta(key(10)), "tD", "tR")).toEqual([null, null]);
  });

  it("keeps a timer job under 64 bytes a field, so a parked run's timer hash stays small", async () => {
    await toApproval(11);
    const [tR] = await redis.hmget(keys.meta(key(11)), "tR");
    const job = `${queuePrefix}:timers:${tR}`;
    expect(await redis.call("OBJECT", "ENCODING", job)).toBe("listpack");
  });
});

describe("status updates", () => {
  it("coalesce while one waits, and one committed while the status job runs leads to another run of it", async () => {
    const issue = 20;
    const seen: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const running = new Promise<void>((resolve) => (entered = resolve));
    const execute: ExecuteEffect = async (effect, context) => {
      // (The queue also holds the other tests' jobs.)
      if (effect.kind !== "post-status" || context.issueKey !== key(issue)) return null;
      seen.push(context.run.version);
      if (seen.length === 1) {
        entered();
        await gate;
      }
      return null;
    };
    // Three updates before any worker runs: one status job waits for all of them.
    const run = await startRun(issue);
    for (let i = 0; i < 2; i++) await result(issue, events.status(2000 + i, at(5 + i)), `s-${i}`);
    const waiting = (await engine.queues.effects.getJobs(["waiting"])).filter((job) => job.data.issueKey === key(issue) && job.data.effect.kind === "post-status");
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.id).toBe(`${run.id}_implement_r0_v2_post-status`);

    // The implement deadline is due already (the events are dated in the past): keep it out of this.
    for (const job of await timerJobsOf(issue)) await job.remove();
    const connection = createRedis(url);
    const workers = startWorkers({ connection, prefix: queuePrefix, engine, execute, log: pino({ level: "silent" }), concurrency: { events: 1, effects: 4, timers: 1 } });
    try {
      await running;
      expect(seen).toEqual([4]); // the waiting job rendered the run as stored when it ran
      // While that job runs, two more updates: they must not be lost, and need one more run only.
      await result(issue, events.status(2100, at(8)), "s-active-1");
      await result(issue, events.status(2101, at(9)), "s-active-2");
      const latest = (await store.load(key(issue))).run!.version;
      expect(latest).toBe(6);
      release();
      await until(async () => seen.length >= 2 && (await engine.queues.effects.getJobCounts("waiting", "active")).waiting === 0);
      await until(async () => (await engine.queues.effects.getJobCounts("active")).active === 0);
      expect(seen).toEqual([4, 6]);
    } finally {
      release();
      await workers.close();
      await connection.quit();
    }
  });
});

describe("status updates with a delay", () => {
  it("join the one status job that waits out its delay, which renders the last of them; a later update gets a job of its own", async () => {
    const delayed = testEngine({ statusDelayMs: 400 });
    const { engine: e } = delayed;
    const issue = 21;
    const seen: number[] = [];
    const execute: ExecuteEffect = async (effect, context) => {
      if (effect.kind === "post-status" && context.issueKey === key(issue)) seen.push(context.run.version);
      return null;
    };
    const statusJobs = async () =>
      (await e.queues.effects.getJobs(["delayed", "waiting", "active", "completed"])).filter((job) => job.data.issueKey === key(issue) && job.data.effect.kind === "post-status");
    await e.submit(key(issue), events.labeled(issue), { source: `label-${issue}`, requiresRun: false });
    await e.submit(key(issue), events.configLoaded(), { source: `config-${issue}`, requiresRun: false });
    await e.apply(key(issue));
    for (let i = 0; i < 3; i++) {
      await e.submit(key(issue), events.status(2200 + i, at(5 + i)), { source: `s-${i}`, requiresRun: true });
      await e.apply(key(issue));
    }
    // The implement deadline is due already (the events are dated in the past): keep it out of this.
    for (const job of await e.queues.timers.getJobs(["delayed", "waiting"])) await job.remove();
    const connection = createRedis(delayed.url);
    const workers = startWorkers({ connection, prefix: delayed.queuePrefix, engine: e, execute, log: pino({ level: "silent" }), concurrency: { events: 1, effects: 2, timers: 1 } });
    try {
      const latest = (await e.store.load(key(issue))).run!.version;
      // Four updates decided (config and three status commands), one job, still waiting out its delay.
      const jobs = await statusJobs();
      expect(jobs.map((job) => job.id)).toEqual([`${(await e.store.load(key(issue))).run!.id}_implement_r0_v2_post-status`]);
      expect(await jobs[0]!.getState()).toBe("delayed");
      expect(seen).toEqual([]);
      await until(async () => seen.length === 1);
      expect(seen).toEqual([latest]);

      // Once that job ran, the next update is not lost: it has a job of its own.
      await until(async () => (await e.queues.effects.getJobCounts("active", "delayed")).active === 0);
      await e.submit(key(issue), events.status(2300, at(9)), { source: "s-late", requiresRun: true });
      await e.apply(key(issue));
      await until(async () => seen.length === 2);
      expect(seen).toEqual([latest, latest + 1]);
    } finally {
      await workers.close();
      await connection.quit();
      await delayed.close();
    }
  });
});

describe("seen marks", () => {
  it("dedupe by source in one sorted set per issue, which expires, and prune expired marks", async () => {
    const k = key(30);
    const labeled = events.labeled(30);
    expect((await store.append(k, labeled, { source: "delivery-1", requiresRun: false })).status).toBe("appended");
    expect((await store.append(k, labeled, { source: "delivery-1", requiresRun: false })).status).toBe("duplicate");
    expect(await redis.zcard(keys.seen(k))).toBe(1);
    const ttl = await redis.pttl(keys.seen(k));
    expect(ttl).toBeGreaterThan((SEEN_TTL_SECONDS - 60) * 1000);
    expect(await redis.call("OBJECT", "ENCODING", keys.seen(k))).toBe("listpack");

    // A mark past its expiry no longer dedupes, and an append prunes every expired mark.
    const [member] = await redis.zrange(keys.seen(k), "0", "0");
    await redis.zadd(keys.seen(k), String(Date.now() - 1), member!, String(Date.now() - 5), "someone-elses-old-mark");
    expect((await store.append(k, labeled, { source: "delivery-1", requiresRun: false })).status).toBe("appended");
    expect(await redis.zrange(keys.seen(k), "0", "-1")).toEqual([member]);
    expect(Number(await redis.zscore(keys.seen(k), member!))).toBeGreaterThan(Date.now() + (SEEN_TTL_SECONDS - 60) * 1000);
    expect((await store.append(k, labeled, { source: "delivery-1", requiresRun: false })).status).toBe("duplicate");
  });
});

describe("compact encodings", () => {
  it("pins the archive dictionary: format 1 is readable only with exactly these bytes", () => {
    expect(createHash("sha1").update(DICTIONARY_V1).digest("hex")).toBe("7da24470e96b5ab36bc129da0f6c25c158e65d6c");
    expect(DICTIONARY_V1_SHA1).toBe("7da24470e96b5ab36bc129da0f6c25c158e65d6c");
    // Run records (format 2) use its run-record part, from this offset on.
    expect(DICTIONARY_V1.slice(RUN_DICTIONARY_OFFSET)).toMatch(/^\{"id":"123456789-42-1","generation":1,/);
  });

  it("round-trips run records and archive frames", () => {
    const json = JSON.stringify({ id: "1-2-3", note: "ünïcode ✓", n: 1 });
    expect(unpackRecord(packRecord(json))).toBe(json);
    expect(unpackRecord(Buffer.from(json))).toBe(json);
    const a: [string, string[]][] = [["1-0", ["kind", "event", "event", "{}"]]];
    const b: [string, string[]][] = [["2-0", ["kind", "outcome", "outcome", "{\"x\":1}"]], ["2-1", ["k", "v"]]];
    expect(unpackArchive(Buffer.concat([packArchiveFrame(a), packArchiveFrame(b)]))).toEqual([...a, ...b]);
    expect(unpackArchive(null)).toEqual([]);
  });

  it("stores ledger fields short and finds them by their full names", async () => {
    const k = key(40);
    const long = `check-run:${k}-1:${"f".repeat(40)}:${"e".repeat(40)}`;
    expect(ledgerField(k, `status-comment:${k}-1`)).toBe("status-comment:~1");
    expect(Buffer.byteLength(ledgerField(k, long))).toBeLessThanOrEqual(64);
    await store.ledgerSet(k, `status-comment:${k}-1`, "11");
    await store.ledgerSet(k, long, "22");
    expect(await store.ledgerGet(k, `status-comment:${k}-1`)).toBe("11");
    expect(await store.ledgerGet(k, long)).toBe("22");
    expect(await redis.call("OBJECT", "ENCODING", keys.ledger(k))).toBe("listpack");
  });
});

describe("crash recovery", () => {
  it("re-drives a finished run whose last effects were committed but not enqueued, then lets it leave the active set", async () => {
    const run = await startRun(50);
    // The commit that cancels the run lands, then the process dies before its drain.
    await store.append(key(50), events.closed(at(9)), { source: "close-50", requiresRun: true });
    const base = await store.load(key(50));
    const [entry] = await store.pending(key(50), base.cursor);
    const cancelled: Run = { ...run, state: "cancelled", version: run.version + 1 };
    const effect = { kind: "post-status" as const, id: `${run.id}_implement_r0_v${cancelled.version}_post-status` };
    expect(await store.commit(key(50), base, { run: cancelled, cursor: entry!.entryId, outcomes: [], effects: [effect] })).toBe(true);
    expect(await store.activeIssues(10_000)).toContain(key(50));

    const swept = await engine.sweep();
    expect(swept.drained).toBeGreaterThanOrEqual(1);
    expect(await store.outbox(key(50))).toEqual([]);
    expect(await store.activeIssues(10_000)).not.toContain(key(50));
  });

  it("a worker applies its result in the same job; a result appended but not applied is found by the sweep", async () => {
    await startRun(51);
    const connection = createRedis(url);
    const rival = new Engine(new RunStore(connection, keys), createQueues(connection, queuePrefix), pino({ level: "silent" }));
    try {
      const applied = await rival.submitAndApply(key(51), flow.dispatched(), { source: "dispatch-51", requiresRun: false });
      expect(applied.status).toBe("appended");
      expect((await store.load(key(51))).run!.workflowRunId).toBe(4242);
      // Appended, then the process died before applying.
      await store.append(key(51), flow.finished(), { source: "inspect-51", requiresRun: false });
      const swept = await engine.sweep();
      expect(swept.woken).toBeGreaterThanOrEqual(1);
      await engine.apply(key(51));
      expect((await store.load(key(51))).run!.stage).toBe("implement");
      // What each of them enqueued it acknowledges with its next call for the issue, or soon.
      await Promise.all([rival.flushAcks(), engine.flushAcks()]);
      expect((await store.outbox(key(51))).length).toBe(0);
    } finally {
      await rival.queues.close();
      await connection.quit();
    }
  });
});

describe("acknowledging the outbox", () => {
  it("acks what a worker enqueued with its next call for the issue; meanwhile a sweep enqueues nothing twice", async () => {
    await startRun(60);
    const connection = createRedis(url);
    const worker = new Engine(new RunStore(connection, keys), createQueues(connection, queuePrefix), pino({ level: "silent" }));
    try {
      await worker.submitAndApply(key(60), flow.dispatched(), { source: "dispatch-60", requiresRun: false });
      await worker.submitAndApply(key(60), flow.finished(), { source: "inspect-60", requiresRun: false });
      // The open-pr effect is enqueued, its outbox entry not acknowledged yet.
      const [entry] = await store.outbox(key(60));
      expect(entry).toMatchObject({ kind: "open-pr" });
      expect(await engine.queues.effects.getJob(entry!.id)).toBeDefined();
      // A sweep now (as after a crash) enqueues it again: the same job id, so nothing new.
      const before = await engine.queues.effects.count();
      await engine.sweep();
      expect(await engine.queues.effects.count()).toBe(before);
      expect(await store.outbox(key(60))).toEqual([]);
      // The worker's next call for the issue carries its acknowledgements.
      await worker.submitAndApply(key(60), flow.opened(60), { source: "open-60", requiresRun: false });
      await worker.load(key(60));
      expect(await store.outbox(key(60))).toEqual([]);
    } finally {
      await worker.flushAcks();
      await worker.queues.close();
      await connection.quit();
    }
  });
});

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am! === bm! ? Number(as! - bs!) : am! < bm! ? -1 : 1;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
