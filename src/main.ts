import { Probot, ProbotOctokit, Server, run as runProbotSetup } from "probot";
import type { Logger } from "pino";
import { conveyorApp } from "./app/app.js";
import { createEffectExecutor } from "./app/effects/index.js";
import { Ingress } from "./app/ingress.js";
import { readSettings, type Settings } from "./env.js";
import { createLogger } from "./logger.js";
import { Engine } from "./queue/engine.js";
import { Keys } from "./queue/keys.js";
import { connectRedis } from "./queue/redis.js";
import { createQueues } from "./queue/queues.js";
import { RunStore } from "./queue/run-store.js";
import { startWorkers, type StallSettings, type Workers } from "./queue/workers.js";
import { createReviewFlow, startReviewWorkers, type ReviewFlow } from "./queue/review-flow.js";
import { createReviewRound } from "./app/review/round.js";
import { modelProviderFromSetting, type ModelProvider } from "./reviews/model.js";
import { Metrics } from "./metrics.js";
import { createScheduleQueue } from "./queue/schedulers.js";
import { ScheduleIngress } from "./app/schedules/ingress.js";
import { startScheduling, type Scheduling } from "./app/schedules/index.js";
import { readScheduleSettings } from "./app/schedules/settings.js";
import { authOptionsFrom } from "./app/dashboard/auth.js";
import { createQueueBoard, type QueueBoard } from "./app/dashboard/queue-board.js";

export type Role = "start" | "web" | "worker";

export interface Conveyor {
  settings: Settings;
  engine: Engine;
  server: Server | null;
  workers: Workers | null;
  /** This process's Prometheus metrics (served at /metrics by the web role). */
  metrics: Metrics;
  /** Repository schedules and housekeeping jobs (worker role). */
  scheduling: Scheduling | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Octokit class for GitHub calls; tests pass one with retries and throttling off. */
  Octokit?: typeof ProbotOctokit;
  /** The review models; tests pass LangChain's fake chat models. Default: CONVEYOR_MODEL. */
  models?: ModelProvider;
  /** Worker concurrency overrides (benchmarks, tests). */
  concurrency?: { events?: number; effects?: number; timers?: number };
  /** BullMQ stalled-job settings (crash tests shorten them); production keeps workers.ts's. */
  stall?: StallSettings;
}

/** Octokit retries quick blips (two tries); BullMQ owns the longer backoff across attempts. */
const DefaultOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { retries: 2 } }));

/**
 * Composition root: environment → Redis → store and queues → Probot server and/or workers.
 * `start` runs both roles in one process; `web` and `worker` split them for scale.
 */
export async function startConveyor(role: Role, options: StartOptions = {}): Promise<Conveyor> {
  const settings = readSettings(options.env);
  const log = options.log ?? createLogger(settings.LOG_LEVEL);
  const redis = await connectRedis(settings.REDIS_URL);
  const keys = new Keys(settings.CONVEYOR_PREFIX);
  const store = new RunStore(redis, keys);
  const queuePrefix = `{${settings.CONVEYOR_PREFIX}}`;
  const queues = createQueues(redis, queuePrefix);
  const metrics = new Metrics({ defaultMetrics: true }).attach({ store, queues });
  const engine = new Engine(store, queues, log, {
    onApplied: (before, event, after, applied) => {
      try {
        metrics.observeApplied(before, event, after, applied);
      } catch (error) {
        log.warn({ err: error }, "metrics: could not observe an applied event");
      }
    },
  }, { statusDelayMs: settings.STATUS_DELAY_MS });
  const Octokit = options.Octokit ?? DefaultOctokit;
  const scheduleSettings = readScheduleSettings(options.env);
  const scheduleQueue = createScheduleQueue(redis, queuePrefix);
  let scheduling: Scheduling | null = null;

  let server: Server | null = null;
  let workers: Workers | null = null;
  let reviewWorkers: ReturnType<typeof startReviewWorkers> | null = null;
  let reviewFlow: ReviewFlow | null = null;
  let queueBoard: QueueBoard | null = null;

  if (role !== "worker") {
    if (!settings.hasCredentials) {
      // First start: Probot serves its setup page, which registers the app from app.yml and
      // writes the credentials to .env. Restart afterwards to serve webhooks.
      log.warn("no GitHub App credentials (APP_ID, PRIVATE_KEY): serving Probot's setup page; restart after registering the app");
      server = await runProbotSetup(() => {}, { env: options.env ?? process.env, log });
    } else {
      server = new Server({
        Probot: Probot.defaults({ appId: settings.APP_ID, privateKey: settings.privateKey!, secret: settings.WEBHOOK_SECRET, baseUrl: settings.baseUrl, log, Octokit }),
        port: settings.PORT,
        host: settings.HOST,
        webhookPath: settings.WEBHOOK_PATH,
        webhookProxy: settings.WEBHOOK_PROXY_URL,
        log,
      });
      const dashboardAuth = authOptionsFrom(settings);
      if (dashboardAuth.token || dashboardAuth.github) queueBoard = createQueueBoard({ connection: redis, prefix: queuePrefix });
      await server.load(conveyorApp({ ingress: new Ingress(engine, log), redis, queues, metrics, dashboard: { engine, ...dashboardAuth, queueBoard, log, githubUrl: settings.webUrl }, schedules: new ScheduleIngress(scheduleQueue, async (repoId) => (await store.repoSettings(repoId)).commandPrefix ?? "/conveyor", log) }));
      await server.start();
    }
  }

  if (role !== "web" && settings.hasCredentials) {
    const probot = new Probot({ appId: settings.APP_ID, privateKey: settings.privateKey!, baseUrl: settings.baseUrl, log, Octokit });
    const workerConnection = redis.duplicate();
    const getOctokit = (installationId: number) => probot.auth(installationId);
    reviewFlow = createReviewFlow(workerConnection, queuePrefix);
    workers = startWorkers({
      connection: workerConnection,
      prefix: queuePrefix,
      engine,
      execute: createEffectExecutor({ getOctokit, reviews: reviewFlow }),
      log,
      concurrency: options.concurrency,
      stall: options.stall,
    });
    reviewWorkers = startReviewWorkers({
      connection: workerConnection,
      prefix: queuePrefix,
      engine,
      round: createReviewRound({ store, getOctokit, models: options.models ?? modelProviderFromSetting(settings.CONVEYOR_MODEL), log }),
      log,
      concurrency: settings.REVIEW_CONCURRENCY,
      perMinute: settings.REVIEW_PER_MINUTE || undefined,
    });
    metrics.watchWorkers([workers.events, workers.effects, workers.timers, reviewWorkers.rounds]);
    metrics.watchAngleWorker(reviewWorkers.angles);
    // The sweep re-drives runs a crash left behind: now, and every minute on any worker
    // (a job scheduler fires once per period however many workers run).
    await queues.events.upsertJobScheduler("sweep", { every: 60_000 }, { name: "sweep", data: { issueKey: "" } });
    const swept = await engine.sweep();
    if (swept.woken || swept.drained) log.info(swept, "startup sweep re-drove runs left behind");
    scheduling = await startScheduling({
      redis,
      connection: workerConnection,
      queue: scheduleQueue,
      queuePrefix,
      keyPrefix: settings.CONVEYOR_PREFIX,
      store,
      getOctokit,
      getAppOctokit: () => probot.auth(),
      settings: scheduleSettings,
      log,
      onFiring: (firing) => {
        if (firing.reason === "schedule") metrics.scheduleDelaySeconds.observe({ outcome: firing.outcome }, Math.max(0, firing.firedAt - firing.scheduledFor) / 1000);
      },
    });
  }

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      log.info("stopping: no new jobs; waiting for running ones");
      await server?.stop();
      if (workers) {
        const closing = Promise.all([workers.close(), reviewWorkers?.close(), scheduling?.close()]);
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, settings.SHUTDOWN_TIMEOUT_MS).unref());
        await Promise.race([closing, timeout]);
      }
      await reviewFlow?.close();
      await queueBoard?.close();
      await engine.flushAcks();
      await queues.close();
      await scheduleQueue.close();
      await redis.quit();
      log.info("stopped");
    })());

  return { settings, engine, server, workers, metrics, scheduling, stop };
}
