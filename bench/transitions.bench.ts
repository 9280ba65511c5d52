// Stage transitions: whole runs (label → intake → implement → review → ci → approval → merge →
// close) through the real engine, with effects executed as no-op jobs that answer with the next
// pipeline event, against bare BullMQ jobs processed in the same run and on the same Redis.
//
// Every transition takes the real path: a webhook is appended to the issue's log and applied by
// an apply job; an effect's result is decided on the run its job holds and appended and committed
// in one script by the effect job itself (or appended and applied in log order when the run
// moved) → effect and timer jobs → … The outside world (the implementer's workflow run
// completing, a human approving) is simulated from EngineHooks.onApplied: when a commit leaves
// the run waiting for one of those, that event is submitted through `engine.submit` with a stable
// source, as ingress would for the webhook. CI is found finished by evaluate-ci.
//
// A third reference, the floor, is the bare chain with the one write any durable event-sourced
// transition makes (run record, event, outcome) added to each job: what is left above it is
// Conveyor's own work (outbox, timers, status jobs, indexes, webhook apply jobs, compaction).
import { performance } from "node:perf_hooks";
import { Queue, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { PipelineEvent } from "../src/pipeline/events.js";
import type { Run } from "../src/pipeline/run.js";
import { Engine, type EngineHooks } from "../src/queue/engine.js";
import type { IssueKey } from "../src/queue/keys.js";
import { createRedis } from "../src/queue/redis.js";
import { RunStore, type AppendResult, type Commit, type Committed } from "../src/queue/run-store.js";
import type { ExecuteEffect } from "../src/queue/workers.js";
import { silent } from "./lib/app-env.js";
import { buildEngine } from "./lib/engine.js";
import { events, subject, type Subject } from "./lib/pipeline-fixtures.js";
import { commandStats, countSentCommands, diffCounts, redisCpuMs, sentCommands, topPer, total, type Counts } from "./lib/redis-stats.js";
import { benchRedis } from "./lib/redis-server.js";
import { RequiredFloor, type RequiredJob } from "./lib/required-floor.js";
import { percentile, round, type BenchResult } from "./lib/result.js";

const RUNS = Number(process.env.BENCH_TRANSITIONS_RUNS ?? 200);
/** Warm-up rounds of every phase at full size, unmeasured: Conveyor's path is far more code than a bare job's, and the JIT needs a few thousand transitions to settle (the first measured round was the slowest by 20-40% with one short warm-up phase). */
const WARMUP_ROUNDS = 2;
const REPEATS = 5;
/** startWorkers' defaults, passed explicitly so the bare worker can get the same job slots. */
const CONCURRENCY = { events: 16, effects: 8, timers: 4 } as const;
/** The bare worker gets the slots Conveyor's transition path uses: apply (16) + effect (8). */
const BARE_CONCURRENCY = CONCURRENCY.events + CONCURRENCY.effects;
/** Same stalled-job settings as src/queue/workers.ts, so both sides run the same checks. */
const STALL = { lockDuration: 30_000, stalledInterval: 15_000, maxStalledCount: 2 } as const;
const PHASE_TIMEOUT_MS = 120_000;

interface BareJob {
  chain: number;
  step: number;
  length: number;
  t0: number;
  /** Make the floor's write before adding the next job. */
  floor: boolean;
}

/** The floor's one Lua call: a run record replaced, an event and its outcome appended (log kept short). */
const FLOOR_WRITE = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 64, '*', 'kind', 'event', 'event', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 64, '*', 'kind', 'outcome', 'outcome', ARGV[3])
return 1`;

/** A real run record (JSON, as a commit writes it) and a real event and outcome of a finished bench run. */
async function floorSample(store: RunStore, key: IssueKey): Promise<{ run: string; event: string; outcome: string }> {
  const history = await store.history(key);
  const event = history.find((entry) => entry.kind === "event" && entry.event.type === "ci.finished");
  const outcome = history.find((entry) => entry.kind === "outcome" && entry.outcome.type === "ci.finished");
  const { run } = await store.load(key);
  if (!run || event?.kind !== "event" || outcome?.kind !== "outcome") throw new Error(`bench transitions: no finished run at ${key} to take the floor's record from`);
  return { run: JSON.stringify({ ...run, stage: "approval", state: "active" }), event: JSON.stringify(event.event), outcome: JSON.stringify(outcome.outcome) };
}

/** Counters of one measured phase, fed by the observing store and engine and by worker events. */
class Tally {
  target = 0;
  startedAt = new Map<string, number>();
  latencies: number[] = [];
  transitions = 0;
  refused = 0;
  commits = 0;
  conflicts = 0;
  effectJobs = 0;
  timerJobs = 0;
  doneRuns = 0;
  wakes = 0;
  applyCompleted = 0;
  effectCompleted = 0;
  /** Of effectCompleted: status updates (post-status jobs, coalesced). */
  statusCompleted = 0;
  compactions = 0;
  /** Replaced or dropped timer jobs the commits asked to remove. */
  timerCancels = 0;
  private waiter: { resolve(): void; reject(error: Error): void } | null = null;

  reset(target: number): Promise<void> {
    Object.assign(this, { target, transitions: 0, refused: 0, commits: 0, conflicts: 0, effectJobs: 0, timerJobs: 0, doneRuns: 0, wakes: 0, applyCompleted: 0, effectCompleted: 0, statusCompleted: 0, compactions: 0, timerCancels: 0 });
    this.startedAt.clear();
    this.latencies = [];
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench transitions: phase did not finish in ${PHASE_TIMEOUT_MS} ms (${this.describe()})`)), PHASE_TIMEOUT_MS);
      this.waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
    });
  }

  /**
   * Runs done when every run is done and every apply job the phase asked for has completed; the
   * phase then waits for the effects queue to be idle (status updates coalesce, so the effect jobs
   * that run are fewer than the effects committed, and only the queue can tell).
   */
  check(): void {
    if (this.waiter && this.doneRuns >= this.target && this.applyCompleted >= this.wakes) {
      this.waiter.resolve();
      this.waiter = null;
    }
  }

  fail(error: Error): void {
    this.waiter?.reject(error);
    this.waiter = null;
  }

  describe(): string {
    return `runs done ${this.doneRuns}/${this.target}, transitions ${this.transitions}, apply jobs ${this.applyCompleted}/${this.wakes}, effect jobs ${this.effectCompleted}/${this.effectJobs}`;
  }
}

/** The real store, observed: when an event's append started and when its applied outcome committed. */
class ObservedStore extends RunStore {
  constructor(
    redis: Redis,
    keys: ConstructorParameters<typeof RunStore>[1],
    private readonly tally: Tally,
  ) {
    super(redis, keys);
  }

  override async append(...args: Parameters<RunStore["append"]>): Promise<AppendResult> {
    const started = performance.now();
    const result = await super.append(...args);
    if (result.status === "appended") this.tally.startedAt.set(`${args[0]}|${result.entryId}`, started);
    return result;
  }

  /** The workers' append (effect and timer results), which also reads what to apply. */
  override async appendAndRead(...args: Parameters<RunStore["appendAndRead"]>): ReturnType<RunStore["appendAndRead"]> {
    const started = performance.now();
    const reply = await super.appendAndRead(...args);
    if (reply.result.status === "appended") this.tally.startedAt.set(`${args[0]}|${reply.result.entryId}`, started);
    return reply;
  }

  override async commitWith(...args: Parameters<RunStore["commitWith"]>): ReturnType<RunStore["commitWith"]> {
    const [key, base, next] = args;
    const result = await super.commitWith(...args);
    this.observe(key, base.run, next, result, "");
    return result;
  }

  override async compact(...args: Parameters<RunStore["compact"]>): ReturnType<RunStore["compact"]> {
    this.tally.compactions++;
    return super.compact(...args);
  }

  /** The workers' fast path: an effect's result appended and committed at once. */
  override async appendAndCommit(...args: Parameters<RunStore["appendAndCommit"]>): ReturnType<RunStore["appendAndCommit"]> {
    const [key, , , known, next] = args;
    const started = performance.now();
    const reply = await super.appendAndCommit(...args);
    if (reply.result.status === "appended") {
      this.tally.startedAt.set(`${key}|${reply.result.entryId}`, started);
      if ("committed" in reply) this.observe(key, known, next, reply.committed, reply.result.entryId);
    }
    return reply;
  }

  /** A commit's transitions, latencies, effects and finished runs; `entryId` fills outcomes committed before their entry had an id. */
  private observe(key: IssueKey, base: Run | null, next: Commit, result: Committed, entryId: string): void {
    const committed = performance.now();
    const tally = this.tally;
    if (!result.ok) {
      tally.conflicts++;
      return;
    }
    tally.commits++;
    tally.timerCancels += result.cancels.length;
    for (const outcome of next.outcomes) {
      if (!outcome.applied) {
        tally.refused++;
        continue;
      }
      tally.transitions++;
      const id = `${key}|${outcome.of || entryId}`;
      const started = tally.startedAt.get(id);
      if (started !== undefined) tally.latencies.push(committed - started);
      tally.startedAt.delete(id);
    }
    for (const effect of next.effects) {
      if (effect.kind === "set-timer") tally.timerJobs++;
      else tally.effectJobs++;
    }
    if (next.run?.state === "done" && base?.state !== "done") tally.doneRuns++;
    tally.check();
  }
}

/** The real engine, observed: how many apply jobs it asks for. */
class ObservedEngine extends Engine {
  tally: Tally | null = null;
  override async wake(key: IssueKey, reason: string): Promise<void> {
    if (this.tally) this.tally.wakes++;
    return super.wake(key, reason);
  }
}

function subjectOf(run: Run, key: IssueKey): Subject {
  return { key, repo: run.repo, issue: run.issue, actor: run.startedBy };
}

/** No GitHub: each effect answers with the event its real executor would return. */
function noopExecutor(): ExecuteEffect {
  return async (effect, context) => {
    const s = subjectOf(context.run, context.issueKey);
    switch (effect.kind) {
      case "load-config":
        return events.configLoaded();
      case "dispatch-implement":
        return events.implementDispatched(s, effect.round);
      case "inspect-implement":
        return events.implementFinished(s, effect.round);
      case "evaluate-ci":
        return events.ciFinished(effect.sha);
      case "open-pr":
        return events.prOpened(s, effect.round);
      case "start-review":
        return events.reviewFinished(effect.round, effect.sha);
      case "check-permission":
        return { type: "permission.checked", at: context.now(), login: effect.login, permission: "write", subject: effect.subject };
      case "merge-pr":
        return events.mergeFinished();
      case "close-issue":
        return events.closeFinished();
      case "post-status":
        return null;
      default:
        return null;
    }
  };
}

/**
 * The webhooks a run waits for, sent as soon as a commit leaves the run waiting for them: the
 * implementer's workflow run completing (implement, once dispatched) and a human approving
 * (approval). CI needs none here: evaluate-ci finds it finished on entering ci.
 */
function outsideWorld(engine: Engine, tally: Tally): NonNullable<EngineHooks["onApplied"]> {
  const waitsFor = (run: Run | null, key: IssueKey): { event: PipelineEvent; source: string } | null => {
    if (run?.state !== "active") return null;
    const s = subjectOf(run, key);
    if (run.stage === "implement" && run.workflowRunId !== null) return { event: events.implementCompleted(s, run.id, run.round), source: `workflow-run-${run.workflowRunId}-completed` };
    if (run.stage === "approval" && run.pr) return { event: events.reviewSubmitted(s, run.pr.headSha), source: `review-${run.id}-${run.pr.headSha}` };
    return null;
  };
  return (before, _event, after, applied, key) => {
    if (!applied) return;
    const external = waitsFor(after, key);
    if (!external || waitsFor(before, key)?.source === external.source) return;
    engine.submit(key, external.event, { source: external.source, requiresRun: true }).catch((error: unknown) => tally.fail(error as Error));
  };
}

interface PhaseStats {
  units: number;
  seconds: number;
  perSecond: number;
  msPerUnit: number;
  p50ms: number;
  p99ms: number;
  /** Commands Redis executed (INFO commandstats; commands inside Lua scripts included). */
  redisCommandsPerUnit: number;
  /** Commands this process sent (a Lua script counts once): round trips before pipelining. */
  sentCommandsPerUnit: number;
  /** CPU time of this Node process (all of Conveyor or bare BullMQ runs in it) and of redis-server. */
  nodeCpuMsPerUnit: number;
  redisCpuMsPerUnit: number;
  redisCommands: Counts;
  sent: Counts;
}

interface Measured {
  seconds: number;
  redisCommands: Counts;
  sent: Counts;
  nodeCpuMs: number;
  redisCpuMs: number;
}

function stats(units: number, latencies: number[], m: Measured): PhaseStats {
  const { seconds, redisCommands, sent } = m;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    units,
    seconds: round(seconds, 3),
    perSecond: round(units / seconds, 1),
    msPerUnit: round((seconds * 1000) / units, 4),
    p50ms: round(percentile(sorted, 50)),
    p99ms: round(percentile(sorted, 99)),
    redisCommandsPerUnit: round(total(redisCommands) / units),
    sentCommandsPerUnit: round(total(sent) / units),
    nodeCpuMsPerUnit: round(m.nodeCpuMs / units, 4),
    redisCpuMsPerUnit: round(m.redisCpuMs / units, 4),
    redisCommands,
    sent,
  };
}

export default async function transitions(): Promise<BenchResult> {
  countSentCommands();
  const redis = await benchRedis();
  const tally = new Tally();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const admin = createRedis(redis.url);
    cleanups.push(() => admin.quit());

    // Conveyor, composed as src/main.ts does (without the Probot server and the sweep scheduler).
    const conveyor = await buildEngine({
      redisUrl: redis.url,
      log: silent,
      makeStore: (client, keys) => new ObservedStore(client, keys, tally),
      makeEngine: (store, queues, log) => new ObservedEngine(store, queues, log, { onApplied: (...args) => conveyorWorld(...args) }),
    });
    cleanups.push(() => conveyor.stop());
    conveyor.engine.tally = tally;
    const conveyorWorld = outsideWorld(conveyor.engine, tally);
    const workers = conveyor.startWorkers(noopExecutor(), CONCURRENCY);
    workers.events.on("completed", () => (tally.applyCompleted++, tally.check()));
    workers.effects.on("completed", (job) => {
      tally.effectCompleted++;
      if (job.name === "post-status") tally.statusCompleted++;
      tally.check();
    });
    for (const worker of [workers.events, workers.effects, workers.timers]) {
      worker.on("failed", (job, error) => tally.fail(new Error(`bench transitions: ${worker.name} job ${job?.id} failed: ${error.message}`)));
    }

    // Bare BullMQ: one queue, one worker, no-op jobs; a job of a chain adds the chain's next job
    // before it completes, as an effect job appends its result event. In the "floor" phases a job
    // first makes the one write any durable event-sourced transition makes (see FLOOR_WRITE).
    const bareConnection = createRedis(redis.url);
    const bareWorkerConnection = createRedis(redis.url);
    bareWorkerConnection.defineCommand("floorWrite", { numberOfKeys: 2, lua: FLOOR_WRITE });
    const floorWrite = (chain: number) =>
      (bareWorkerConnection as unknown as { floorWrite(...args: string[]): Promise<unknown> }).floorWrite(`{floor}:run:${chain}`, `{floor}:log:${chain}`, floorPayload.run, floorPayload.event, floorPayload.outcome);
    const floorPayload = { run: "", event: "", outcome: "" };
    const bareQueue = new Queue<BareJob>("bare", { connection: bareConnection, prefix: "{bare}" });
    // The required floor (see lib/required-floor.ts) runs in the same queue and worker, as jobs named "required" and "status".
    const requiredTimers = new Queue("bare-timers", { connection: bareConnection, prefix: "{bare}" });
    const required = new RequiredFloor(bareWorkerConnection, bareQueue as unknown as Queue, requiredTimers);
    const bare = { completed: 0, target: 0, latencies: [] as number[], done: null as null | (() => void), fail: null as null | ((error: Error) => void) };
    const bareWorker = new Worker<BareJob>(
      "bare",
      async (job: Job<BareJob>) => {
        if (job.name === "required") return required.run(job as unknown as Job<RequiredJob>);
        if (job.name === "status") return;
        const { chain, step, length, floor } = job.data;
        if (floor) await floorWrite(chain);
        if (step + 1 < length) await bareQueue.add("step", { chain, step: step + 1, length, t0: performance.now(), floor });
      },
      { connection: bareWorkerConnection, prefix: "{bare}", concurrency: BARE_CONCURRENCY, ...STALL },
    );
    cleanups.push(async () => {
      await bareWorker.close();
      await bareQueue.close();
      await requiredTimers.close();
      await bareWorkerConnection.quit();
      await bareConnection.quit();
    });
    bareWorker.on("completed", (job) => {
      if (job.name !== "status") bare.latencies.push(performance.now() - job.data.t0);
      if (++bare.completed >= bare.target) bare.done?.();
    });
    bareWorker.on("failed", (job, error) => bare.fail?.(new Error(`bench transitions: bare job ${job?.id} failed: ${error.message}`)));
    await Promise.all([bareQueue.waitUntilReady(), bareWorker.waitUntilReady(), workers.events.waitUntilReady(), workers.effects.waitUntilReady()]);

    async function measure(work: () => Promise<void>): Promise<Measured> {
      const [cmdBefore, sentBefore, redisCpuBefore] = [await commandStats(admin), sentCommands(), await redisCpuMs(admin)];
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await work();
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const [cmdAfter, sentAfter, redisCpuAfter] = [await commandStats(admin), sentCommands(), await redisCpuMs(admin)];
      return {
        seconds,
        redisCommands: diffCounts(cmdBefore, cmdAfter),
        sent: diffCounts(sentBefore, sentAfter),
        nodeCpuMs: (cpu.user + cpu.system) / 1000,
        redisCpuMs: redisCpuAfter - redisCpuBefore,
      };
    }

    /**
     * Until no effect job waits or runs, twice in a row 5 ms apart (the last drains may still be
     * under way). The runs are done: status updates still waiting out their delay (STATUS_DELAY_MS)
     * are promoted so that they run now, counted, instead of the phase idling for the delay.
     */
    async function effectsIdle(): Promise<void> {
      const deadline = Date.now() + PHASE_TIMEOUT_MS;
      let quiet = 0;
      while (quiet < 2) {
        await conveyor.queues.effects.promoteJobs();
        const counts = await conveyor.queues.effects.getJobCounts("waiting", "active", "delayed", "prioritized");
        quiet = Object.values(counts).every((n) => n === 0) ? quiet + 1 : 0;
        if (Date.now() > deadline) throw new Error(`bench transitions: effect jobs did not finish: ${JSON.stringify(counts)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    let nextRun = 0;
    async function conveyorPhase(runs: number): Promise<{ stats: PhaseStats; tally: Tally; transitionsPerRun: number }> {
      const subjects = Array.from({ length: runs }, () => subject(nextRun++));
      const measured = await measure(async () => {
        const finished = tally.reset(runs);
        // Every run starts at once, as labels on many issues would.
        await Promise.all(subjects.map((s) => conveyor.engine.submit(s.key, events.labeled(s), { source: `delivery-label-${s.key}`, requiresRun: false })));
        await finished;
        await effectsIdle();
      });
      const transitionsPerRun = tally.transitions / runs;
      const snapshot = Object.assign(new Tally(), tally);
      return { stats: stats(tally.transitions, tally.latencies, measured), tally: snapshot, transitionsPerRun };
    }

    async function barePhase(chains: number, length: number, mode: "chain" | "bulk" | "floor" | "required"): Promise<PhaseStats> {
      const jobs = chains * length;
      bare.completed = 0;
      // The required floor also runs one status job per chain (not a transition).
      bare.target = mode === "required" ? jobs + chains : jobs;
      bare.latencies = [];
      const measured = await measure(async () => {
        const finished = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`bench transitions: bare phase did not finish in ${PHASE_TIMEOUT_MS} ms (${bare.completed}/${jobs})`)), PHASE_TIMEOUT_MS);
          bare.done = () => (clearTimeout(timer), resolve());
          bare.fail = (error) => (clearTimeout(timer), reject(error));
        });
        if (mode === "required") {
          required.startPhase();
          await Promise.all(Array.from({ length: chains }, (_, chain) => required.enqueue(chain, 0)));
        } else if (mode === "bulk") {
          const t0 = performance.now();
          await bareQueue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: "step", data: { chain: i, step: 0, length: 1, t0, floor: false } })));
        } else {
          await Promise.all(Array.from({ length: chains }, (_, chain) => bareQueue.add("step", { chain, step: 0, length, t0: performance.now(), floor: mode === "floor" })));
        }
        await finished;
      });
      return stats(jobs, bare.latencies, measured);
    }

    // Warm-up: scripts loaded, connections open, JIT warm; also tells the transitions per run,
    // and gives the floor phases a real run record (as it stands in approval) and real log entries.
    const warm = await conveyorPhase(RUNS);
    const perRun = warm.transitionsPerRun;
    if (!Number.isInteger(perRun)) throw new Error(`bench transitions: runs took ${perRun} transitions on average; expected the same number for every run`);
    Object.assign(floorPayload, await floorSample(conveyor.store, subject(0).key));
    await required.load(conveyor.store, subject(0).key);
    if (required.length !== perRun) throw new Error(`bench transitions: the required floor replays ${required.length} transitions, runs took ${perRun}`);
    for (let i = 0; i < WARMUP_ROUNDS; i++) {
      if (i > 0) await conveyorPhase(RUNS);
      for (const mode of ["chain", "bulk", "floor", "required"] as const) await barePhase(RUNS, perRun, mode);
    }

    const rounds: { bare: PhaseStats; conveyor: PhaseStats; bulk: PhaseStats; floor: PhaseStats; required: PhaseStats; tally: Tally }[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const bareStats = await barePhase(RUNS, perRun, "chain");
      const conveyorRun = await conveyorPhase(RUNS);
      if (conveyorRun.transitionsPerRun !== perRun) throw new Error(`bench transitions: ${conveyorRun.transitionsPerRun} transitions per run, expected ${perRun}`);
      const floorStats = await barePhase(RUNS, perRun, "floor");
      const requiredStats = await barePhase(RUNS, perRun, "required");
      const bulkStats = await barePhase(RUNS, perRun, "bulk");
      rounds.push({ bare: bareStats, conveyor: conveyorRun.stats, bulk: bulkStats, floor: floorStats, required: requiredStats, tally: conveyorRun.tally });
    }

    // Each round's ratio compares phases run back to back, so drift in machine load cancels out;
    // the table shows the round with the median ratio.
    const ratioOf = (r: (typeof rounds)[number]) => r.conveyor.msPerUnit / r.bare.msPerUnit;
    const medianRound = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor(rounds.length / 2)]!;
    const { bare: bareMedian, conveyor: conveyorMedian, bulk: bulkMedian, floor: floorMedian, required: requiredMedian, tally: t } = medianRound;
    const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const floorRatios = rounds.map((r) => r.floor.msPerUnit / r.bare.msPerUnit).sort((a, b) => a - b);
    const requiredCounts = Object.fromEntries(Object.entries(required.counts).map(([name, n]) => [name, round(n / RUNS, 2)]));
    const row = (s: PhaseStats) => ({
      units: s.units,
      seconds: s.seconds,
      perSecond: s.perSecond,
      msPerUnit: s.msPerUnit,
      p50ms: s.p50ms,
      p99ms: s.p99ms,
      redisCmdsPerUnit: s.redisCommandsPerUnit,
      sentCmdsPerUnit: s.sentCommandsPerUnit,
      nodeCpuMs: s.nodeCpuMsPerUnit,
      redisCpuMs: s.redisCpuMsPerUnit,
    });
    const compact = (s: PhaseStats) => ({ ...row(s), redisCommandsTop: topPer(s.redisCommands, s.units), sentTop: topPer(s.sent, s.units) });

    return {
      benchmark: "transitions",
      ratio: round(ratioOf(medianRound), 3),
      goal: 2,
      better: "lower",
      unit: "× a bare BullMQ job",
      rows: [
        { subject: `bare BullMQ no-op job, ${RUNS} chains × ${perRun} (concurrency ${BARE_CONCURRENCY})`, ...row(bareMedian), note: "unit = job; latency add→completed" },
        { subject: `Conveyor transition, ${RUNS} runs × ${perRun} (events ${CONCURRENCY.events}, effects ${CONCURRENCY.effects})`, ...row(conveyorMedian), note: "unit = applied event; latency append→commit" },
        { subject: `bare BullMQ no-op job, addBulk ${RUNS * perRun} (reference)`, ...row(bulkMedian), note: "not the ratio's baseline: no chain" },
        { subject: `floor: bare job + one durable transition write, ${RUNS} chains × ${perRun} (reference)`, ...row(floorMedian), note: "see details.floor" },
        { subject: `required floor: what #3's requirements imply, no engine, ${RUNS} runs × ${perRun} (reference)`, ...row(requiredMedian), note: "see details.requiredFloor" },
      ],
      details: {
        runs: RUNS,
        transitionsPerRun: perRun,
        repeats: REPEATS,
        concurrency: { conveyor: CONCURRENCY, bare: BARE_CONCURRENCY },
        ratioVsBulk: round(conveyorMedian.msPerUnit / bulkMedian.msPerUnit, 3),
        floor: {
          /** The floor phase ÷ the bare phase of the same round, median of the rounds. */
          ratio: round(floorRatios[Math.floor(floorRatios.length / 2)]!, 3),
          conveyorVsFloor: round(conveyorMedian.msPerUnit / floorMedian.msPerUnit, 3),
          runRecordBytes: Buffer.byteLength(floorPayload.run),
          eventBytes: Buffer.byteLength(floorPayload.event),
          outcomeBytes: Buffer.byteLength(floorPayload.outcome),
        },
        requiredFloor: {
          /** The required-floor phase ÷ the bare phase of the same round, median of the rounds. */
          ratio: round(medianOf(rounds.map((r) => r.required.msPerUnit / r.bare.msPerUnit)), 3),
          cpuRatio: round(medianOf(rounds.map((r) => (r.required.nodeCpuMsPerUnit + r.required.redisCpuMsPerUnit) / (r.bare.nodeCpuMsPerUnit + r.bare.redisCpuMsPerUnit))), 3),
          conveyorVsRequired: round(medianOf(rounds.map((r) => r.conveyor.msPerUnit / r.required.msPerUnit)), 3),
          /** Per run, in the last required-floor phase. */
          perRun: requiredCounts,
        },
        /** Less sensitive to other load on the machine than wall time: CPU per unit, Node + Redis. */
        cpuRatio: round((conveyorMedian.nodeCpuMsPerUnit + conveyorMedian.redisCpuMsPerUnit) / (bareMedian.nodeCpuMsPerUnit + bareMedian.redisCpuMsPerUnit), 3),
        perTransition: {
          applyJobs: round(t.wakes / t.transitions, 3),
          effectsCommitted: round(t.effectJobs / t.transitions, 3),
          effectJobsRun: round(t.effectCompleted / t.transitions, 3),
          statusJobsRun: round(t.statusCompleted / t.transitions, 3),
          timerJobsRemoved: round(t.timerCancels / t.transitions, 3),
          compactions: round(t.compactions / t.transitions, 3),
          timerJobsAdded: round(t.timerJobs / t.transitions, 3),
          commits: round(t.commits / t.transitions, 3),
          conflicts: t.conflicts,
          refusedEvents: t.refused,
        },
        bare: compact(bareMedian),
        conveyor: compact(conveyorMedian),
        bulk: compact(bulkMedian),
        floorPhase: compact(floorMedian),
        requiredPhase: compact(requiredMedian),
        notes: [
          `ratio = Conveyor ms per transition ÷ bare ms per job (wall clock of a phase ÷ its units; = bare jobs/s ÷ transitions/s), per round of back-to-back phases; the median of ${REPEATS} rounds, whose phases the table shows. ${WARMUP_ROUNDS} unmeasured rounds of every phase come first.`,
          `Baseline: ${RUNS} chains of ${perRun} no-op jobs, each job adding the chain's next job before it completes — the same shape as ${RUNS} runs of ${perRun} sequential transitions started at once; the bare worker gets Conveyor's apply + effect slots (${BARE_CONCURRENCY}). addBulk of the same number of jobs is shown for reference only: it has no sequential dependency, so it is not the same work.`,
          "A transition = one applied event: webhooks: append (Lua) → apply job → read (Lua) → decide → commit with outbox (Lua) → index (what changed) → effect/timer jobs; effect results: the effect job decides on the run it holds and appends and commits in one Lua call (or appends, reads and applies in log order when the run moved or another event waits) → enqueue, in that job. Status updates wait STATUS_DELAY_MS (1 s) and coalesce per run (effectJobsRun vs effectsCommitted); at the end of a phase the waiting ones are promoted and run. Effects do no GitHub call and answer with their result event (evaluate-ci: CI green); the simulated webhooks (implementer workflow run completed, approval) are submitted through engine.submit as soon as a commit leaves the run waiting for them.",
          "Floor (reference, not the ratio's baseline): the bare chain again, each job first making, in one Lua call, the writes any durable event-sourced transition makes: the run record (SET, a real record of a run in approval), the event and its outcome (XADD, real entries). No outbox, timers, status, indexes, webhook apply jobs or compaction. details.floor.ratio = floor ÷ bare; details.floor.conveyorVsFloor = Conveyor ÷ floor.",
          "Required floor (reference, not the ratio's baseline): a bare chain per run replaying a real finished run, each job doing only what issue #3's requirements imply for its transition, with no engine: the real decide on the real run and event; one Lua commit (version check, run record, event and outcome, outbox entries, the executed effect's acknowledged, its result deduped by source, the sweep's active set); for webhooks, ingress's deduped append before the job and a read of the run and log in it; a delayed job per set-timer effect (never removed); on parking for approval one status job and one compaction with the real codec. Not in it: stale-timer removal, status updates at other stages, run indexes, later compactions, conflict retries, log lines. details.requiredFloor.ratio = required ÷ bare (median of rounds); conveyorVsRequired = Conveyor ÷ required.",
          "Redis commands: redisCmds = INFO commandstats diff (everything Redis executed, commands inside Lua scripts included; idle workers' blocking reads included); sentCmds = commands this process's ioredis clients sent (a script = 1).",
          "nodeCpuMs / redisCpuMs = CPU time per unit of this Node process (process.cpuUsage) and of redis-server (INFO cpu); less sensitive than wall time to other load on the machine. details.cpuRatio compares their sums.",
          "The sweep job scheduler of src/main.ts is not started (it fires once a minute and is not per-transition work).",
        ],
        allRounds: rounds.map((r) => ({ ratio: round(ratioOf(r), 3), bare: row(r.bare), conveyor: row(r.conveyor), bulk: row(r.bulk), floor: row(r.floor), required: row(r.required), floorRatio: round(r.floor.msPerUnit / r.bare.msPerUnit, 3), requiredRatio: round(r.required.msPerUnit / r.bare.msPerUnit, 3) })),
      },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await redis.stop();
  }
}
