import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import type { Effect } from "../pipeline/effects.js";
import type { IssueKey } from "./keys.js";

export const QUEUE_NAMES = { events: "events", effects: "effects", timers: "timers" } as const;

export interface ApplyJob { issueKey: IssueKey }
export interface EffectJob { issueKey: IssueKey; runId: string; effect: Effect }
export interface TimerJob { issueKey: IssueKey; effect: Extract<Effect, { kind: "set-timer" }> }

/** Attempts for one effect before the run parks with effect.failed; backoff is exponential with jitter. */
export const EFFECT_ATTEMPTS = 6;

export const JOB_OPTIONS = {
  // Applying is idempotent (the cursor moves atomically), so a finished apply job can go at once.
  events: { attempts: 20, backoff: { type: "exponential", delay: 200, jitter: 0.5 }, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } },
  // Finished effect jobs stay for the dedupe window: re-adding the same effect id is then a no-op.
  effects: {
    attempts: EFFECT_ATTEMPTS,
    backoff: { type: "exponential", delay: 2_000, jitter: 0.5 },
    removeOnComplete: { age: 4 * 86_400 },
    removeOnFail: { age: 14 * 86_400 },
  },
  timers: { attempts: 10, backoff: { type: "exponential", delay: 1_000, jitter: 0.5 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 14 * 86_400 } },
} satisfies Record<keyof typeof QUEUE_NAMES, JobsOptions>;

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
