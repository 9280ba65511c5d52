// Crash tests (issue "Durable run engine"): worker processes are killed with SIGKILL at random
// instants while runs move, and afterwards every run is where its events say it is and every side
// effect happened on GitHub exactly once.
//
// Pieces: a private redis-server; a fake GitHub REST server on loopback that the workers reach
// through their GitHub Enterprise settings (GHE_HOST/GHE_PROTOCOL; nock cannot reach child
// processes); three worker processes (test/support/worker-process.ts); and, in this process, an
// Engine on the same Redis prefix that plays GitHub's webhooks by submitting pipeline events.
//
// Knobs (environment): CRASH_SEED (PRNG seed, default 20240601), CRASH_RUNS (default 50),
// CRASH_STALL ("lockDuration,stalledInterval,maxStalledCount" for the workers' BullMQ stall
// recovery in the big test, default "3000,1500,25"; "production" keeps src/queue/workers.ts's
// 30000,15000,2 — see the note at the tests below), CRASH_WORKER=tsx (run the
// workers through tsx instead of a prebuilt bundle), CRASH_CHAOS=off (the same drive without
// kills: a baseline), CRASH_KEEP_LOG=1 (print the log path even when green). CONVEYOR_* variables
// pass through to the workers (e.g. CONVEYOR_TEST_CONCURRENCY=4,4,2).
//
// On failure the test prints where the evidence is: every worker's JSON log lines, the chaos
// loop's kills and the processes' exits in one file, and every request the fake GitHub received
// (with its status, whether it was an injected 502 and whether the client had hung up) next to it.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import type { Run } from "../../src/pipeline/run.js";
import { Engine } from "../../src/queue/engine.js";
import { issueKey, Keys, type IssueKey } from "../../src/queue/keys.js";
import { createQueues, type Queues } from "../../src/queue/queues.js";
import { connectRedis } from "../../src/queue/redis.js";
import { RunStore } from "../../src/queue/run-store.js";
import { appCredentials } from "../support/app-env.js";
import { seededRandom, startFakeGitHubServer, type FakeGitHubServer } from "../support/fake-github-server.js";
import { startRedisServer } from "../support/redis-server.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SEED = Number(process.env.CRASH_SEED ?? 20240601);
const RUNS = Number(process.env.CRASH_RUNS ?? 50);
const STALL = process.env.CRASH_STALL ?? "3000,1500,25";
const WORKERS = 3;
/** How long a worker runs after booting before the chaos loop may kill it. */
const MIN_LIFE_MS = 2_000;
const REPO = { id: 4242, owner: "acme", name: "widgets", installationId: 77 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => new Date().toISOString();

// ---------------------------------------------------------------------------------------------
// Worker processes

/**
 * The worker entry as a command line. By default test/support/worker-process.ts is bundled once
 * per test run, with its dependencies, by esbuild (which tsx ships): a bundled worker is ready in
 * ~0.8 s and ~0.5 s of CPU, through tsx's loader it takes ~2.5 s and ~2 s of CPU, and the chaos
 * loop restarts a worker every second or two. CRASH_WORKER=tsx runs the source through tsx.
 */
async function workerCommand(): Promise<string[]> {
  const viaTsx = ["--import", "tsx", join(ROOT, "test/support/worker-process.ts")];
  if (process.env.CRASH_WORKER === "tsx") return viaTsx;
  // One bundle per test run: runs of other checkouts (or other people) may build theirs meanwhile.
  const outfile = join(ROOT, `node_modules/.cache/conveyor-crash/worker-process-${process.pid}-${Date.now().toString(36)}.mjs`);
  cleanups.push(() => rm(outfile, { force: true }));
  try {
    const name = "esbuild";
    const esbuild = (await import(name)) as { build(options: Record<string, unknown>): Promise<unknown> };
    await esbuild.build({
      entryPoints: [join(ROOT, "test/support/worker-process.ts")],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      // Optional native add-on of msgpackr: resolved from node_modules at run time.
      external: ["msgpackr-extract"],
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      // Smaller source, faster parse: every restart pays for it.
      minifyWhitespace: true,
      minifySyntax: true,
      logLevel: "warning",
    });
    return [outfile];
  } catch (error) {
    console.warn(`crash test: could not bundle the worker (${(error as Error).message}); running it through tsx`);
    return viaTsx;
  }
}

interface WorkerProc {
  slot: number;
  child: ChildProcess;
  pid: number;
  isReady: boolean;
  readyAt: number | null;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Worker processes in numbered slots; every line they print goes to one log file. */
class WorkerPool {
  readonly slots: (WorkerProc | null)[];
  readonly all: WorkerProc[] = [];
  kills = 0;

  constructor(
    size: number,
    private readonly command: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: WriteStream,
  ) {
    this.slots = Array.from({ length: size }, () => null);
  }

  start(slot: number, extraEnv: NodeJS.ProcessEnv = {}): WorkerProc {
    const child = spawn(process.execPath, this.command, {
      cwd: ROOT,
      env: { ...this.env, ...extraEnv, CONVEYOR_TEST_SLOT: String(slot) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let markReady!: () => void;
    const proc: WorkerProc = {
      slot,
      child,
      pid: child.pid ?? -1,
      isReady: false,
      readyAt: null,
      ready: new Promise<void>((resolve) => (markReady = resolve)),
      exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    };
    const lines = (stream: NodeJS.ReadableStream, tag: string) => {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) {
          if (!proc.isReady && line.includes('"worker-process ready"')) {
            proc.isReady = true;
            proc.readyAt = Date.now();
            markReady();
          }
          this.log.write(tag === "out" && line.startsWith("{") ? `${line}\n` : `{"pid":${proc.pid},"slot":${slot},"${tag}":${JSON.stringify(line)}}\n`);
        }
      });
    };
    lines(child.stdout!, "out");
    lines(child.stderr!, "stderr");
    void proc.exited.then(({ code, signal }) => this.log.write(`{"pid":${proc.pid},"slot":${slot},"exit":${JSON.stringify({ code, signal })},"t":${Date.now()}}\n`));
    this.slots[slot] = proc;
    this.all.push(proc);
    return proc;
  }

  /** kill -9 the slot's process (if any) and wait until it is gone. */
  async kill9(slot: number): Promise<void> {
    const proc = this.slots[slot];
    if (!proc) return;
    this.kills++;
    this.log.write(`{"chaos":"kill -9","pid":${proc.pid},"slot":${slot},"ready":${proc.isReady},"t":${Date.now()}}\n`);
    proc.child.kill("SIGKILL");
    await proc.exited;
    this.slots[slot] = null;
  }

  /** Brings every empty or dead slot back. */
  fill(): void {
    this.slots.forEach((proc, slot) => {
      if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) this.start(slot);
    });
  }

  async allReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.fill();
      if (this.slots.every((proc) => proc?.isReady)) return;
      await sleep(50);
    }
    throw new Error(`crash test: workers not ready in ${timeoutMs} ms`);
  }

  /** SIGKILL every process this pool started that is still alive. */
  async destroy(): Promise<void> {
    const alive = this.all.filter((proc) => proc.child.exitCode === null && proc.child.signalCode === null);
    for (const proc of alive) proc.child.kill("SIGKILL");
    await Promise.all(alive.map((proc) => Promise.race([proc.exited, sleep(5_000)])));
  }
}

// ---------------------------------------------------------------------------------------------
// Shared fixtures

let redisServer: Awaited<ReturnType<typeof startRedisServer>> | undefined;
let command: string[] = [];
const credentials = appCredentials();
const pools: WorkerPool[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
const logDir = join(tmpdir(), "conveyor-crash");

// A test runner that dies leaves no orphans behind.
process.once("exit", () => {
  for (const pool of pools) for (const proc of pool.all) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
  redisServer?.process.kill("SIGKILL");
});

beforeAll(async () => {
  mkdirSync(logDir, { recursive: true });
  redisServer = await startRedisServer();
  command = await workerCommand();
}, 60_000);

afterAll(async () => {
  for (const pool of pools) await pool.destroy();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  if (redisServer) {
    const server = redisServer.process;
    const gone = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGKILL");
    await Promise.race([gone, sleep(5_000)]);
  }
}, 60_000);

interface Harness {
  prefix: string;
  engine: Engine;
  store: RunStore;
  queues: Queues;
  gh: FakeGitHubServer;
  pool: WorkerPool;
  logPath: string;
}

async function harness(name: string, gh: FakeGitHubServer, extraEnv: NodeJS.ProcessEnv = {}): Promise<Harness> {
  const prefix = `crash${name}${Date.now().toString(36)}`;
  const redis = await connectRedis(redisServer!.url);
  const store = new RunStore(redis, new Keys(prefix));
  const queues = createQueues(redis, `{${prefix}}`);
  const engine = new Engine(store, queues, pino({ level: "silent" }));
  const logPath = join(logDir, `${prefix}.log`);
  const log = createWriteStream(logPath);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // The fake GitHub lists a dispatched workflow run at once; GitHub takes seconds. Read by the
    // dispatch's lost-response lookup once it exists (see the test of that case below).
    CONVEYOR_DISPATCH_LISTING_DELAY_MS: "5000",
    // Conveyor's own settings given to the test pass through to the workers.
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith("CONVEYOR_"))),
    REDIS_URL: redisServer!.url,
    APP_ID: credentials.appId,
    PRIVATE_KEY: credentials.privateKey,
    CONVEYOR_PREFIX: prefix,
    GHE_HOST: gh.host,
    GHE_PROTOCOL: "http",
    LOG_LEVEL: "info",
    CONVEYOR_TEST_RETRY_BASE_MS: "100",
    ...(STALL === "production" ? {} : { CONVEYOR_TEST_STALL: STALL }),
    ...extraEnv,
  };
  const pool = new WorkerPool(WORKERS, command, env, log);
  pools.push(pool);
  cleanups.push(
    () => gh.close(),
    async () => {
      await queues.close();
      await redis.quit();
    },
    () => new Promise((resolve) => log.end(resolve)),
  );
  return { prefix, engine, store, queues, gh, pool, logPath };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`crash test: ${what} (waited ${timeoutMs} ms)`);
    await sleep(20);
  }
}

async function waitForRun(store: RunStore, key: IssueKey, what: string, predicate: (run: Run) => boolean, deadline: number): Promise<Run> {
  let last: Run | null = null;
  while (Date.now() < deadline) {
    last = (await store.load(key)).run;
    if (last && predicate(last)) return last;
    await sleep(100);
  }
  const seen = last && { version: last.version, stage: last.stage, state: last.state, workflowRunId: last.workflowRunId, reason: last.reason };
  throw new Error(`run of ${key} did not get to "${what}" in time; last seen: ${JSON.stringify(seen)}`);
}

/**
 * Waits until nothing is queued, running or due to retry, and every log is applied and drained.
 * Timers are not waited for (implement deadlines are hours away), nor the sweep's scheduler job.
 * Answers null when settled, else what is still busy.
 */
async function settle(h: Harness, keys: IssueKey[], timeoutMs: number, refill = true): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let quietSince = 0;
  let last = "";
  while (Date.now() < deadline) {
    if (refill) h.pool.fill();
    const counts = await Promise.all([h.queues.events, h.queues.effects, h.queues.timers].map((queue) => queue.getJobCounts("waiting", "active", "prioritized")));
    const delayed = (await Promise.all([h.queues.events, h.queues.effects].map((queue) => queue.getDelayed()))).flat().filter((job) => job.name !== "sweep");
    let behind = 0;
    const lagging: string[] = [];
    for (const key of keys) {
      const snapshot = await h.store.load(key);
      const pending = await h.store.pending(key, snapshot.cursor);
      const outbox = await h.store.outbox(key);
      if (pending.length > 0 || outbox.length > 0) {
        behind++;
        if (lagging.length < 5) {
          const jobs = await Promise.all(outbox.map(async (effect) => `${effect.id}: ${await h.queues.effects.getJobState(effect.id)}`));
          lagging.push(`${key}: ${pending.length} unapplied, outbox jobs ${jobs.join(", ")}`);
        }
      }
    }
    const busy = counts.some((c) => Object.values(c).some((n) => n > 0)) || delayed.length > 0 || behind > 0;
    last = JSON.stringify({ events: counts[0], effects: counts[1], timers: counts[2], delayed: delayed.map((job) => `${job.name} ${job.id} (attempts ${job.attemptsMade})`), behind, lagging });
    if (busy) quietSince = 0;
    else if (!quietSince) quietSince = Date.now();
    else if (Date.now() - quietSince > 1_000) return null;
    await sleep(200);
  }
  return `did not settle in ${timeoutMs} ms: ${last}`;
}

/** How often effect jobs were caught by a crash (BullMQ's stalled counter), as { times: jobs }. */
async function stallHistogram(queues: Queues): Promise<Record<string, number | string>> {
  const jobs = await queues.effects.getJobs(["completed", "failed"], 0, 10_000);
  const histogram: Record<string, number> = {};
  for (const job of jobs) histogram[job.stalledCounter] = (histogram[job.stalledCounter] ?? 0) + 1;
  const worst = jobs.filter((job) => job.stalledCounter >= 5).map((job) => `${job.id} ×${job.stalledCounter}`);
  return worst.length ? { ...histogram, worst: worst.join(", ") } : histogram;
}

const effectJobsCaught = (histogram: Record<string, number | string>) =>
  Object.entries(histogram).reduce((sum, [times, jobs]) => sum + (Number(times) > 0 && typeof jobs === "number" ? jobs : 0), 0);

async function failedJobs(queues: Queues) {
  const describe = async (queue: Queues[keyof Omit<Queues, "close">]) =>
    (await queue.getFailed(0, 1000)).map((job) => ({ queue: queue.name, id: job.id, name: job.name, attempts: job.attemptsMade, reason: job.failedReason }));
  return [...(await describe(queues.events)), ...(await describe(queues.effects)), ...(await describe(queues.timers))];
}

// ---------------------------------------------------------------------------------------------
// The scripted runs

const labeled = (n: number): PipelineEvent => ({
  type: "issue.labeled",
  at: now(),
  label: "conveyor",
  actor: "alice",
  repo: { id: REPO.id, owner: REPO.owner, name: REPO.name, installationId: REPO.installationId },
  issue: { number: n, title: `Crash-tested issue ${n}` },
});

/**
 * One run's script, as GitHub would deliver it: label → (implementer dispatched) → the workflow
 * fails → a human comments `/conveyor retry` → (permission checked, dispatched again) → the human
 * closes the issue. Every event is delivered twice (a redelivery) and must be taken once.
 */
async function drive(h: Harness, n: number, deadline: number, timeline: Record<string, number>): Promise<void> {
  const key = issueKey(REPO.id, n);
  const human = `human-${n}`;
  const started = Date.now();
  const submit = async (event: PipelineEvent, step: string, requiresRun: boolean) => {
    const source = `crash-${n}-${step}`;
    const first = await h.engine.submit(key, event, { source, requiresRun });
    const again = await h.engine.submit(key, event, { source, requiresRun });
    if (first.status !== "appended" || again.status !== "duplicate") {
      throw new Error(`run ${key}: ${step} was ${first.status}, its redelivery ${again.status} (expected appended, duplicate)`);
    }
  };
  const reached = async (what: string, predicate: (run: Run) => boolean) => {
    const run = await waitForRun(h.store, key, what, predicate, deadline);
    timeline[what] = Math.max(timeline[what] ?? 0, Date.now() - started);
    return run;
  };

  await submit(labeled(n), "labeled", false);
  const first = await reached("dispatched", (run) => run.stage === "implement" && run.state === "active" && run.workflowRunId !== null);
  const failed: PipelineEvent = { type: "implement.finished", at: now(), round: 0, workflowRunId: first.workflowRunId!, outcome: "failed", detail: "the agent crashed" };
  await submit(failed, "implement-failed", true);
  await reached("needs-human", (run) => run.state === "needs-human");
  const comment = h.gh.addComment(n, "/conveyor retry", human);
  const retry: PipelineEvent = {
    type: "command.received",
    at: now(),
    login: human,
    isBot: false,
    command: { name: "retry", args: [], commentId: comment.id, text: "/conveyor retry" },
  };
  await submit(retry, "retry", true);
  await reached("re-dispatched", (run) => run.state === "active" && run.stage === "implement" && run.workflowRunId !== null && run.workflowRunId !== first.workflowRunId);
  await submit({ type: "issue.closed", at: now(), actor: human, isBot: false }, "closed", true);
  await reached("cancelled", (run) => run.state === "cancelled");
}

/** What every run must look like once the dust settles, as a list of problems (empty: fine). */
async function checkRun(h: Harness, n: number): Promise<string[]> {
  const key = issueKey(REPO.id, n);
  const human = `human-${n}`;
  const problems: string[] = [];
  const expectThat = (ok: boolean, what: string) => {
    if (!ok) problems.push(`#${n}: ${what}`);
  };
  const { run, cursor } = await h.store.load(key);
  if (!run) return [`#${n}: no run`];
  const runId = `${REPO.id}-${n}-1`;
  expectThat(run.id === runId, `run id ${run.id}, expected ${runId}`);
  expectThat(run.state === "cancelled", `state ${run.state}, expected cancelled`);
  expectThat(run.reason?.what === `issue closed by @${human}`, `reason ${JSON.stringify(run.reason)}`);
  expectThat(run.stage === "implement" && run.round === 0, `stage ${run.stage} round ${run.round}, expected implement round 0`);
  // labeled, config.loaded, implement.dispatched, implement.finished, command.received,
  // permission.checked, implement.dispatched, issue.closed: eight applied events, version 8.
  expectThat(run.version === 8, `version ${run.version}, expected 8`);

  const history = await h.store.history(key);
  const applied = history.flatMap((entry) => (entry.kind === "outcome" && entry.outcome.applied ? [entry.outcome.type] : []));
  const expected = ["issue.labeled", "config.loaded", "implement.dispatched", "implement.finished", "command.received", "permission.checked", "implement.dispatched", "issue.closed"];
  expectThat(JSON.stringify(applied) === JSON.stringify(expected), `applied events ${applied.join(", ")}`);
  const events = history.filter((entry) => entry.kind === "event");
  expectThat(events.length === history.length - events.length, `${events.length} events but ${history.length - events.length} outcomes`);
  expectThat(events.at(-1)?.entryId === cursor, `cursor ${cursor} is not the last event ${events.at(-1)?.entryId}`);

  // GitHub: one status comment (created once, then edited), two dispatches, one permission check.
  const marker = `<!-- conveyor:run=${runId} -->`;
  const created = h.gh.requests("create-comment", { issue: n }).filter((r) => String((r.body as { body?: unknown }).body).includes(marker));
  expectThat(created.length === 1, `${created.length} status comments created (POST …/issues/${n}/comments with the run marker), expected 1`);
  const stored = h.gh.comments(n).filter((c) => c.body.includes(marker));
  expectThat(stored.length === 1, `${stored.length} comments with the run marker on the issue, expected 1`);
  const status = stored[0]?.body ?? "";
  expectThat(status.includes("cancelled") && status.includes(`issue closed by @${human}`), `the status comment does not show the cancellation: ${JSON.stringify(status.split("\n")[1])}`);
  const others = h.gh.requests("create-comment", { issue: n }).length - created.length;
  expectThat(others === 0, `${others} other comments created`);
  const dispatches = h.gh.requests("dispatch", { issue: n });
  expectThat(dispatches.length === 2, `${dispatches.length} dispatches, expected 2: ${JSON.stringify(dispatches.map((d) => (d.body as { inputs: unknown }).inputs))}`);
  expectThat(
    dispatches.every((d) => (d.body as { inputs: { run_id: string; round: string } }).inputs.run_id === runId),
    "a dispatch for another run id",
  );
  const secondRunId = h.gh.dispatches().filter((d) => d.issue === n).at(-1)?.workflowRunId;
  expectThat(run.workflowRunId === secondRunId, `run.workflowRunId ${run.workflowRunId}, the last dispatch created ${secondRunId}`);
  // The check itself is a read: repeated after a crash it changes nothing, so ≥ 1 request; the
  // decision it feeds (permission.checked) is applied exactly once (the applied events above).
  const checks = h.gh.requests("get-permission").filter((r) => r.params.username === human);
  expectThat(checks.length >= 1, "no permission check reached GitHub");
  const reactions = h.gh.reactions().filter((r) => h.gh.comments(n).some((c) => c.id === r.commentId));
  expectThat(reactions.length === 1 && reactions[0]?.content === "+1", `reactions on the command ${JSON.stringify(reactions)}, expected one +1`);
  expectThat(h.gh.requests("update-issue", { issue: n }).length === 0, "the issue was edited");
  return problems;
}

// ---------------------------------------------------------------------------------------------

describe("crash safety", () => {
  it(`${RUNS} runs survive kill -9 of their workers at random instants; every GitHub side effect happens once`, async () => {
    const began = Date.now();
    const random = seededRandom(SEED);
    const gh = await startFakeGitHubServer({
      repos: [{ id: REPO.id, owner: REPO.owner, name: REPO.name }],
      seed: SEED,
      latencyMs: [5, 120],
      errorRate: 0.03,
    });
    const h = await harness("a", gh);
    let failure: unknown;
    const timeline: Record<string, number> = {};
    const runs = Array.from({ length: RUNS }, (_, i) => i + 1);
    const keys = runs.map((n) => issueKey(REPO.id, n));
    let driveMs = 0;
    let settleMs = 0;
    try {
      h.pool.fill();
      await h.pool.allReady(30_000);
      const bootMs = Date.now() - began;

      // Chaos: every 200–700 ms one worker, chosen at random, gets SIGKILL and a successor. A
      // worker is a candidate once it has run for MIN_LIFE_MS after booting. Measured on a 2-core
      // machine: a boot costs ~1 s of CPU, and when workers younger than that are shot too, none
      // lives long enough to finish the jobs it grabbed at boot; throughput collapses and the same
      // jobs are caught again and again (up to 17 times) — a test of the machine, not of Conveyor.
      let chaosOn = process.env.CRASH_CHAOS !== "off";
      const chaos = (async () => {
        while (chaosOn) {
          await sleep(200 + random() * 500);
          const candidates = h.pool.slots.flatMap((proc) => (proc?.readyAt && Date.now() - proc.readyAt >= MIN_LIFE_MS ? [proc.slot] : []));
          const pick = random();
          if (!chaosOn || candidates.length === 0) continue;
          const slot = candidates[Math.floor(pick * candidates.length)]!;
          await h.pool.kill9(slot);
          h.pool.start(slot);
        }
      })();

      const driveStart = Date.now();
      const deadline = driveStart + 100_000;
      const drives = runs.map(async (n, i) => {
        await sleep(i * 25);
        await drive(h, n, deadline, timeline);
      });
      const results = await Promise.allSettled(drives);
      chaosOn = false;
      await chaos;
      driveMs = Date.now() - driveStart;

      // A worker killed between enqueueing an effect and acknowledging its outbox entry leaves the
      // entry for the periodic sweep (every minute on some worker): run that sweep now.
      const settleStart = Date.now();
      await h.engine.sweep();
      // 45 s: a worker killed while it created a comment holds that claim until it expires (30 s,
      // src/app/effects/comments.ts); the status update waiting on it lands right after.
      const unsettled = await settle(h, keys, 45_000);
      settleMs = Date.now() - settleStart;

      const lost = results.flatMap((result) => (result.status === "rejected" ? [(result.reason as Error).message] : []));
      const problems = (await Promise.all(runs.map((n) => checkRun(h, n)))).flat();
      const failed = await failedJobs(h.queues);
      const counts = gh.counts();
      const stalls = await stallHistogram(h.queues);
      writeFileSync(`${h.logPath}.github.json`, JSON.stringify(gh.all(), null, 1));
      console.log(
        JSON.stringify(
          {
            seed: SEED,
            runs: RUNS,
            stall: STALL,
            bootMs,
            driveMs,
            settleMs,
            kills: h.pool.kills,
            processes: h.pool.all.length,
            effectJobsByTimesStalled: stalls,
            slowestRunMs: timeline,
            github: counts,
            injected502: gh.faults(),
            lostResponses: gh.lostResponses().reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.kind]: (acc[r.kind] ?? 0) + 1 }), {}),
            unsettled,
            lost,
            problems,
            failed,
          },
          null,
          1,
        ),
      );
      const report = {
        "queues still busy after the drive": unsettled ? [unsettled] : [],
        "runs that did not get through their script": lost,
        "runs not in the state their events imply, or GitHub effects not done exactly once": problems,
        "unexpected or invalid GitHub requests": gh.problems().map((r) => `${r.method} ${r.path} → ${r.status} ${r.invalid.join("; ")}`),
        "failed jobs": failed,
      };
      expect(report).toEqual(Object.fromEntries(Object.keys(report).map((key) => [key, []])));
      // The chaos must have had something to do: workers killed while they worked.
      if (process.env.CRASH_CHAOS !== "off") {
        expect(h.pool.kills).toBeGreaterThanOrEqual(5);
        expect(effectJobsCaught(stalls)).toBeGreaterThan(0);
      }
      expect(counts.dispatch).toBe(2 * RUNS);
      expect(counts["get-permission"]).toBeGreaterThanOrEqual(RUNS);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      if (failure || process.env.CRASH_KEEP_LOG) console.log(`crash test log (JSON lines of every worker): ${h.logPath}`);
      await h.pool.destroy();
    }
  }, 200_000);

  // The big test lets a job be caught by up to 25 crashes: there every worker lives well under a
  // second, far harsher than production, and with production's maxStalledCount (2) BullMQ gives up
  // on dozens of effect jobs per run of the test. What must happen when it does give up is tested
  // here, on one job, deterministically.
  it("an effect job that BullMQ gives up on after a crash does not leave its run silently stuck", async () => {
    // load-config takes 3 s; its worker is killed in the middle; maxStalledCount 0 makes BullMQ
    // fail the job at its first stall (production fails it at the third).
    const gh = await startFakeGitHubServer({ repos: [{ id: REPO.id, owner: REPO.owner, name: REPO.name }], seed: SEED, latencyByKind: { "get-content": [3_000, 3_000] } });
    const h = await harness("c", gh, { CONVEYOR_TEST_STALL: "2000,500,0" });
    const key = issueKey(REPO.id, 1);
    try {
      await h.pool.start(0).ready;
      await h.engine.submit(key, labeled(1), { source: "stall-1-labeled", requiresRun: false });
      await until(() => gh.inFlight("get-content").length > 0, 15_000, "load-config never reached GitHub");
      await h.pool.kill9(0);
      gh.setFaults({ latencyByKind: {} });
      await h.pool.start(0).ready;
      await until(async () => (await h.queues.effects.getFailedCount()) > 0, 15_000, "BullMQ did not give up on the stalled job");
      const [failed] = await failedJobs(h.queues);
      expect(failed).toMatchObject({ name: "load-config", reason: "job stalled more than allowable limit" });

      // The run must move on (the effect re-driven) or park where a human sees it — not stay
      // "active" in intake with nothing queued, which is what a lost job looks like.
      const run = await waitForRun(h.store, key, "past intake, or parked", (r) => r.stage !== "intake" || r.state !== "active", Date.now() + 12_000).catch(async (error: Error) => {
        const counts = await h.queues.effects.getJobCounts();
        throw new Error(`${error.message}; effect jobs: ${JSON.stringify(counts)}`);
      });
      expect(run.state === "needs-human" ? run.reason?.what : run.stage).toBeTruthy();
    } finally {
      await h.pool.destroy();
    }
  }, 60_000);

  it("a worker killed after GitHub took its dispatch but before it heard back does not dispatch again", async () => {
    // The dispatch takes effect at 2 s and is answered at 4 s; the worker dies in between.
    const gh = await startFakeGitHubServer({ repos: [{ id: REPO.id, owner: REPO.owner, name: REPO.name }], seed: SEED, latencyByKind: { dispatch: [4_000, 4_000] } });
    const h = await harness("d", gh, { CONVEYOR_TEST_STALL: "2000,500,5" });
    const key = issueKey(REPO.id, 1);
    try {
      await h.pool.start(0).ready;
      await h.engine.submit(key, labeled(1), { source: "lost-1-labeled", requiresRun: false });
      await until(() => gh.dispatches().length === 1, 15_000, "the dispatch never reached GitHub");
      expect(gh.inFlight("dispatch")).toHaveLength(1);
      await h.pool.kill9(0);
      gh.setFaults({ latencyByKind: {} });
      h.pool.start(0);

      const run = await waitForRun(h.store, key, "dispatched", (r) => r.workflowRunId !== null || r.state !== "active", Date.now() + 30_000);
      expect(await settle(h, [key], 20_000, false)).toBeNull();
      expect(gh.lostResponses("dispatch")).toHaveLength(1);
      expect(gh.dispatches().map((d) => d.workflowRunId), "workflow runs dispatched for round 0").toEqual([run.workflowRunId]);
    } finally {
      await h.pool.destroy();
    }
  }, 60_000);

  it("the status comment ends on the run's last state when two of its updates race", async () => {
    // Not a crash: an update rendered before the run moved is slow to land (latency, or an Octokit
    // retry after a 502) and arrives after the update rendered from the newer state.
    const slow = (r: { kind: string; body: unknown }) => r.kind === "update-comment" && String((r.body as { body?: unknown }).body).includes("needs a human");
    const gh = await startFakeGitHubServer({ repos: [{ id: REPO.id, owner: REPO.owner, name: REPO.name }], seed: SEED, latencyOf: (r) => (slow(r) ? 2_500 : undefined) });
    const h = await harness("e", gh);
    const key = issueKey(REPO.id, 1);
    try {
      await h.pool.start(0).ready;
      await h.engine.submit(key, labeled(1), { source: "race-1-labeled", requiresRun: false });
      const dispatched = await waitForRun(h.store, key, "dispatched", (r) => r.workflowRunId !== null, Date.now() + 15_000);
      expect(await settle(h, [key], 15_000, false)).toBeNull();
      const failed: PipelineEvent = { type: "implement.finished", at: now(), round: 0, workflowRunId: dispatched.workflowRunId!, outcome: "failed", detail: "" };
      await h.engine.submit(key, failed, { source: "race-1-failed", requiresRun: true });
      await until(() => gh.inFlight("update-comment").some(slow), 15_000, "the needs-human update never reached GitHub");
      await h.engine.submit(key, { type: "issue.closed", at: now(), actor: "human-1", isBot: false }, { source: "race-1-closed", requiresRun: true });
      await waitForRun(h.store, key, "cancelled", (r) => r.state === "cancelled", Date.now() + 15_000);
      expect(await settle(h, [key], 15_000, false)).toBeNull();

      const updates = gh.requests("update-comment", { issue: 1 }).map((r) => String((r.body as { body: string }).body).split("\n")[1]);
      const [comment] = gh.comments(1);
      expect(comment?.body.split("\n")[1], `status updates in the order GitHub applied them: ${JSON.stringify(updates)}`).toContain("cancelled");
    } finally {
      await h.pool.destroy();
    }
  }, 60_000);

  it("SIGTERM on a busy worker lets its running job finish, exits 0 and loses nothing", async () => {
    // Dispatches take 1.5 s: long enough to be caught in the middle of one.
    const gh = await startFakeGitHubServer({
      repos: [{ id: REPO.id, owner: REPO.owner, name: REPO.name }],
      seed: SEED,
      latencyMs: [5, 20],
      latencyByKind: { dispatch: [1_500, 1_500] },
    });
    const h = await harness("b", gh, { SHUTDOWN_TIMEOUT_MS: "15000" });
    const runs = [1, 2, 3, 4, 5];
    const keys = runs.map((n) => issueKey(REPO.id, n));
    try {
      const worker = h.pool.start(0);
      await worker.ready;
      for (const n of runs) await h.engine.submit(issueKey(REPO.id, n), labeled(n), { source: `term-${n}-labeled`, requiresRun: false });

      const deadline = Date.now() + 15_000;
      while (gh.inFlight("dispatch").length === 0) {
        if (Date.now() > deadline) throw new Error("no dispatch started");
        await sleep(10);
      }
      const busy = (await h.queues.effects.getActive()).map((job) => job.id!);
      expect(busy.length).toBeGreaterThan(0);

      const sent = Date.now();
      worker.child.kill("SIGTERM");
      const exit = await worker.exited;
      const tookMs = Date.now() - sent;
      expect(exit).toEqual({ code: 0, signal: null });
      // It waited for its running jobs: each of them finished, none was left to stall.
      for (const id of busy) expect(await (await h.queues.effects.getJob(id))?.getState(), `job ${id}`).toBe("completed");
      expect(await h.queues.effects.getActiveCount()).toBe(0);
      expect(gh.inFlight()).toEqual([]);
      expect(tookMs).toBeLessThan(15_000);

      // A successor finishes the rest; every run got exactly one status comment and one dispatch.
      h.pool.start(0);
      for (const key of keys) {
        await waitForRun(h.store, key, "dispatched", (run) => run.stage === "implement" && run.workflowRunId !== null, Date.now() + 20_000);
      }
      expect(await settle(h, keys, 20_000, false)).toBeNull();
      for (const n of runs) {
        expect(gh.requests("create-comment", { issue: n }), `status comments of #${n}`).toHaveLength(1);
        expect(gh.requests("dispatch", { issue: n }), `dispatches of #${n}`).toHaveLength(1);
      }
      expect(gh.problems()).toEqual([]);
      expect(await failedJobs(h.queues)).toEqual([]);
    } finally {
      await h.pool.destroy();
    }
  }, 90_000);
});
