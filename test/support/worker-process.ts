// A Conveyor worker in its own process, for crash tests: `kill -9` it at any instant, start it
// again, and nothing may be lost or done twice. Run with
//
//   node --import tsx test/support/worker-process.ts
//
// It reads the usual environment (REDIS_URL, APP_ID, PRIVATE_KEY, CONVEYOR_PREFIX, GHE_HOST,
// GHE_PROTOCOL, LOG_LEVEL, SHUTDOWN_TIMEOUT_MS) and a few test knobs:
//
//   CONVEYOR_TEST_CONCURRENCY  "events,effects,timers" worker concurrency (default: production's)
//   CONVEYOR_TEST_RETRY_BASE_MS  Octokit's retry base delay (production: 1000 ms)
//   CONVEYOR_TEST_STALL  "lockDuration,stalledInterval[,maxStalledCount]": BullMQ's stalled-job
//     recovery (production: 30000,15000,2), shortened so a test waits for recovery in seconds
//
// It logs JSON lines (pino) on stdout; the line with msg "worker-process ready" says the worker
// is up. SIGTERM stops it gracefully (running jobs finish) and exits 0.
import { Worker } from "bullmq";
import { ProbotOctokit } from "probot";
import { startConveyor } from "../../src/main.js";
import { createLogger } from "../../src/logger.js";
import { STALL } from "../../src/queue/workers.js";

const env = process.env;
const log = createLogger(env.LOG_LEVEL ?? "info").child({ pid: process.pid, slot: env.CONVEYOR_TEST_SLOT });

const [lockDuration, stalledInterval, maxStalledCount] = (env.CONVEYOR_TEST_STALL ?? "").split(",").map(Number);
const stall = lockDuration && stalledInterval ? { lockDuration, stalledInterval, maxStalledCount: maxStalledCount ?? STALL.maxStalledCount } : undefined;

const [events, effects, timers] = (env.CONVEYOR_TEST_CONCURRENCY ?? "").split(",").map((n) => (n ? Number(n) : undefined));

// Probot's throttling spaces writes 1 s (comments 3 s) apart per process: off, as in the other
// tests. Retries stay on, as in production, so injected 502s are retried inside the request.
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  throttle: { enabled: false },
  retry: { retries: 2, retryAfterBaseValue: Number(env.CONVEYOR_TEST_RETRY_BASE_MS ?? 1000) },
}));

const conveyor = await startConveyor("worker", { env, log, Octokit, concurrency: { events, effects, timers }, stall });
// Crash tests read the log afterwards: say which jobs this process found stalled (worker died).
const workers = conveyor.workers;
if (workers) {
  for (const worker of [workers.events, workers.effects, workers.timers] as Worker[]) {
    worker.on("stalled", (jobId) => log.warn({ queue: worker.name, jobId }, "worker-process: found a stalled job"));
  }
}
log.info("worker-process ready");

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  log.info("worker-process: SIGTERM, stopping");
  conveyor.stop().then(
    () => {
      log.info("worker-process: stopped, exiting 0");
      process.exit(0);
    },
    (error: unknown) => {
      log.error({ err: error }, "worker-process: stop failed");
      process.exit(1);
    },
  );
});
