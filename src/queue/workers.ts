import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import type { Logger } from "pino";
import type { Effect } from "../pipeline/effects.js";
import { effectId } from "../pipeline/effect-id.js";
import type { PipelineEvent } from "../pipeline/events.js";
import type { Run } from "../pipeline/run.js";
import type { Engine } from "./engine.js";
import { classifyFailure, describeFailure, WaitError } from "./failures.js";
import { STALLED_OUT } from "./engine.js";
import type { IssueKey } from "./keys.js";
import { EFFECT_ATTEMPTS, QUEUE_NAMES, TIMER_ATTEMPTS, TIMER_RETENTION, timerFired, type ApplyJob, type EffectJob, type TimerJob } from "./queues.js";
import type { RunStore } from "./run-store.js";

export type ExecutableEffect = Exclude<Effect, { kind: "set-timer" }>;

export interface EffectContext {
  run: Run;
  issueKey: IssueKey;
  store: RunStore;
  log: Logger;
  /** The event time for the result event; the executor reads the clock, `decide` never does. */
  now(): string;
  /** True on the effect's last attempt: an executor that waits for something may give up then. */
  lastAttempt: boolean;
}

/** Carries out one effect on GitHub (or elsewhere) and returns the event that reports its result. */
export type ExecuteEffect = (effect: ExecutableEffect, context: EffectContext) => Promise<PipelineEvent | null>;

export interface WorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  engine: Engine;
  execute: ExecuteEffect;
  log: Logger;
  concurrency?: { events?: number; effects?: number; timers?: number };
  /** BullMQ's stalled-job recovery; tests shorten it to see recovery in seconds. */
  stall?: StallSettings;
}

export interface StallSettings {
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
}

/**
 * Stalled-job settings, chosen on purpose: a worker that dies holds its job's lock for at most
 * `lockDuration` (30 s), the stalled check runs every 15 s, and a job may stall twice before it
 * fails. Every job here is idempotent, so running one again after a crash is always safe; an
 * effect that stalls out is reported to its run (engine.reportStalledEffect), never lost.
 */
export const STALL: StallSettings = { lockDuration: 30_000, stalledInterval: 15_000, maxStalledCount: 2 };

export interface Workers {
  events: Worker<ApplyJob>;
  effects: Worker<EffectJob>;
  timers: Worker<TimerJob>;
  /** Stops taking jobs and waits for running ones (bounded by the caller). */
  close(): Promise<void>;
}

export function startWorkers(options: WorkerOptions): Workers {
  const { connection, prefix, engine, execute, log } = options;
  const stall = options.stall ?? STALL;
  const common = { connection, prefix, ...stall, lockRenewTime: stall.lockDuration / 2 };

  const events = new Worker<ApplyJob>(QUEUE_NAMES.events, (job) => (job.name === "sweep" ? engine.sweep() : engine.apply(job.data.issueKey)), {
    ...common,
    concurrency: options.concurrency?.events ?? 16,
  });

  const effects = new Worker<EffectJob>(QUEUE_NAMES.effects, (job, token) => runEffect(job, token, engine, execute, log), {
    ...common,
    concurrency: options.concurrency?.effects ?? 8,
  });

  const timers = new Worker<TimerJob>(
    QUEUE_NAMES.timers,
    async (job, token) => {
      const { issueKey, event, source } = timerFired(job, new Date().toISOString());
      try {
        return (await engine.submitAndApply(issueKey, event, { source, requiresRun: true })).status;
      } catch (error) {
        // Timer jobs carry no retry options (see queues.ts): back off here, a bounded number of times.
        if (job.attemptsStarted >= TIMER_ATTEMPTS || !token) throw error;
        log.warn({ err: error, issueKey, jobId: job.id, attempt: job.attemptsStarted }, `timer ${job.name} failed, will retry: ${(error as Error).message}`);
        const backoff = Math.round(1_000 * 2 ** (job.attemptsStarted - 1) * (0.5 + Math.random() / 2));
        await job.moveToDelayed(Date.now() + backoff, token);
        throw new DelayedError();
      }
    },
    { ...common, ...TIMER_RETENTION, concurrency: options.concurrency?.timers ?? 4 },
  );

  // BullMQ fails a job whose worker died too often; the run must hear of it (the sweep repeats this).
  effects.on("failed", (job, error) => {
    if (job && error.message === STALLED_OUT) engine.reportStalledEffect(job.data, job.stalledCounter).catch((err: unknown) => log.error({ err }, "could not report a stalled-out effect"));
  });

  for (const worker of [events, effects, timers]) {
    worker.on("failed", (job, error) => log.warn({ queue: worker.name, jobId: job?.id, attempts: job?.attemptsMade, err: error }, `job failed: ${error.message}`));
    worker.on("error", (error) => log.error({ queue: worker.name, err: error }, `worker error: ${error.message}`));
  }

  return {
    events,
    effects,
    timers,
    async close() {
      await Promise.all([events.close(), effects.close(), timers.close()]);
    },
  };
}

async function runEffect(job: Job<EffectJob>, token: string | undefined, engine: Engine, execute: ExecuteEffect, baseLog: Logger): Promise<string> {
  const { issueKey, runId } = job.data;
  const effect = job.data.effect as ExecutableEffect;
  const run = await engine.runFor(issueKey, effect);
  const log = baseLog.child({ runId, issueKey, effect: effect.kind, effectId: effect.id, stage: run?.stage, round: run?.round, ...(job.data.deliveryId ? { deliveryId: job.data.deliveryId } : {}) });
  if (!run || run.id !== runId) {
    log.warn("effect skipped: its run is gone or was replaced by a newer run");
    return "skipped";
  }
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? EFFECT_ATTEMPTS);
  try {
    const result = await execute(effect, { run, issueKey, store: engine.store, log, now: () => new Date().toISOString(), lastAttempt });
    // The result is applied here, in this job: most transitions are effect results.
    if (result) await engine.submitAndApply(issueKey, result, { source: effect.id, requiresRun: false, known: run });
    return "done";
  } catch (error) {
    const kind = classifyFailure(error);
    const what = describeFailure(error);
    if (error instanceof WaitError && token) {
      log.info(`effect ${effect.kind} waits: ${what}`);
      await job.moveToDelayed(Date.now() + 500 + Math.floor(Math.random() * 1_000), token);
      throw new DelayedError();
    }
    if (kind === "transient" && !lastAttempt) {
      log.warn({ err: error, attempt: job.attemptsMade + 1 }, `effect ${effect.kind} failed (transient), will retry: ${what}`);
      throw error;
    }
    log.error({ err: error }, `effect ${effect.kind} failed for good: ${what}`);
    const failed: PipelineEvent = {
      type: "effect.failed",
      at: new Date().toISOString(),
      // Status updates coalesce (engine.ts): a status job renders, and fails for, the run as it is now.
      effectId: effect.kind === "post-status" ? effectId(run, "post-status") : effect.id,
      kind: effect.kind,
      error: kind === "transient" ? `${what} (gave up after ${job.attemptsMade + 1} attempts)` : what,
      ...((error as { next?: string }).next ? { next: (error as { next: string }).next } : {}),
    };
    await engine.submitAndApply(issueKey, failed, { source: `${effect.id}-failed`, requiresRun: false, known: run });
    throw new UnrecoverableError(`${effect.kind}: ${what}`);
  }
}
