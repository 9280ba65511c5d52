import { Queue, type ConnectionOptions, type JobsOptions, type KeepJobs } from "bullmq";
import type { Effect, EffectOf } from "../pipeline/effects.js";
import type { PipelineEvent } from "../pipeline/events.js";
import type { Stage } from "../pipeline/run.js";
import type { IssueKey } from "./keys.js";

export const QUEUE_NAMES = { events: "events", effects: "effects", timers: "timers" } as const;

export interface ApplyJob { issueKey: IssueKey }
/** An effect job's data; `deliveryId`: the webhook delivery whose event decided the effect, if one did. */
export interface EffectJob { issueKey: IssueKey; runId: string; effect: Effect; deliveryId?: string }
/**
 * A timer job's data: [issue, stage, round, stageStartedAt]; the job's name is the timer's name
 * and its id stands for the set-timer effect. Kept under 64 bytes (with short options) so the job
 * hash of a parked run's timer stays listpack-encoded. `{ issueKey, effect }` is the older shape.
 */
export type TimerJob = [issueKey: IssueKey, stage: Stage, round: number, stageStartedAt: string] | { issueKey: IssueKey; effect: EffectOf<"set-timer"> };

export function timerJobData(key: IssueKey, effect: EffectOf<"set-timer">): TimerJob {
  return [key, effect.stage, effect.round, effect.stageStartedAt];
}

/** The issue and the timer.fired event a timer job stands for, in either shape. */
export function timerFired(job: { name: string; id?: string; data: TimerJob }, at: string): { issueKey: IssueKey; event: PipelineEvent; source: string } {
  if (Array.isArray(job.data)) {
    const [issueKey, stage, round, stageStartedAt] = job.data;
    return { issueKey, source: job.id!, event: { type: "timer.fired", at, timer: job.name as EffectOf<"set-timer">["timer"], stage, round, stageStartedAt } };
  }
  const { issueKey, effect } = job.data;
  return { issueKey, source: effect.id, event: { type: "timer.fired", at, timer: effect.timer, stage: effect.stage, round: effect.round, stageStartedAt: effect.stageStartedAt } };
}

/** Attempts for one effect before the run parks with effect.failed; backoff is exponential with jitter. */
export const EFFECT_ATTEMPTS = 6;
/** Attempts for a timer job; its worker retries with backoff itself (see workers.ts), so job options stay short. */
export const TIMER_ATTEMPTS = 10;

export const JOB_OPTIONS = {
  // Applying is idempotent (the cursor moves atomically), so a finished apply job can go at once.
  events: { attempts: 20, backoff: { type: "exponential", delay: 200, jitter: 0.5 }, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } },
  // A finished effect job is kept an hour: its result is deduplicated by the seen marks (4 days)
  // and its outbox entry is acknowledged within seconds of being enqueued, so only a sweep after a
  // crash re-adds it (and the job id still dedupes it); an executor run again after a long outage
  // checks its ledger and GitHub first.
  effects: {
    attempts: EFFECT_ATTEMPTS,
    backoff: { type: "exponential", delay: 2_000, jitter: 0.5 },
    removeOnComplete: { age: 3_600 },
    removeOnFail: { age: 14 * 86_400 },
  },
  // Timer jobs carry no options of their own beyond id and delay (a parked run holds one or two
  // for days): retention is the worker's (TIMER_RETENTION), retries the worker's own.
  timers: {},
} satisfies Record<keyof typeof QUEUE_NAMES, JobsOptions>;

export const TIMER_RETENTION: { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } = { removeOnComplete: { age: 86_400 }, removeOnFail: { age: 14 * 86_400 } };

export interface Queues {
  events: Queue<ApplyJob>;
  effects: Queue<EffectJob>;
  timers: Queue<TimerJob>;
  close(): Promise<void>;
}

/**
 * The prefix is a hash tag (`{conveyor}`) so each queue's keys land in one Redis Cluster slot,
 * as BullMQ requires on a cluster.
 */
export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const events = new Queue<ApplyJob>(QUEUE_NAMES.events, { connection, prefix, defaultJobOptions: JOB_OPTIONS.events });
  const effects = new Queue<EffectJob>(QUEUE_NAMES.effects, { connection, prefix, defaultJobOptions: JOB_OPTIONS.effects });
  const timers = new Queue<TimerJob>(QUEUE_NAMES.timers, { connection, prefix, defaultJobOptions: JOB_OPTIONS.timers });
  return {
    events,
    effects,
    timers,
    async close() {
      await Promise.all([events.close(), effects.close(), timers.close()]);
    },
  };
}
