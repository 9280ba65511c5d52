import { FlowProducer, Worker, type ConnectionOptions, type Job } from "bullmq";
import type { Logger } from "pino";
import type { Angle } from "../pipeline/config.js";
import type { PipelineEvent } from "../pipeline/events.js";
import type { AngleResult } from "../reviews/round.js";
import type { Engine } from "./engine.js";
import type { IssueKey } from "./keys.js";

/** Angle reviews (the LLM's load) and round parents live in separate queues, so the rate limit binds only the former. */
export const REVIEW_QUEUES = { angles: "review-angles", rounds: "review-rounds" } as const;

export interface RoundJob {
  issueKey: IssueKey;
  runId: string;
  round: number;
  sha: string;
  angles: Angle[];
  /** The start-review effect's id: the round's job id, so starting a round twice runs it once. */
  effectId: string;
}
export interface AngleJob extends Omit<RoundJob, "angles"> {
  angle: Angle;
}

export interface ReviewRound {
  runAngle(job: AngleJob): Promise<AngleResult>;
  finishRound(job: RoundJob, results: AngleResult[]): Promise<PipelineEvent>;
}

const KEEP = { removeOnComplete: { age: 4 * 86_400 }, removeOnFail: { age: 14 * 86_400 } };

/**
 * A review round is one BullMQ flow: a parent with one child per angle. A child that crashes is
 * retried alone; one that fails for good is ignored by the parent (ignoreDependencyOnFailure),
 * which then reports that angle as failed instead of waiting forever.
 */
export function createReviewFlow(connection: ConnectionOptions, prefix: string) {
  const producer = new FlowProducer({ connection, prefix });
  return {
    async start(job: RoundJob): Promise<void> {
      await producer.add({
        name: "review-round",
        queueName: REVIEW_QUEUES.rounds,
        data: job,
        opts: { jobId: job.effectId, attempts: 5, backoff: { type: "exponential", delay: 2_000, jitter: 0.5 }, ...KEEP },
        children: job.angles.map((angle) => ({
          name: "review-angle",
          queueName: REVIEW_QUEUES.angles,
          data: { issueKey: job.issueKey, runId: job.runId, round: job.round, sha: job.sha, effectId: job.effectId, angle } satisfies AngleJob,
          opts: { jobId: `${job.effectId}_${angle}`, attempts: 3, backoff: { type: "exponential", delay: 5_000, jitter: 0.5 }, ignoreDependencyOnFailure: true, ...KEEP },
        })),
      });
    },
    close: () => producer.close(),
  };
}
export type ReviewFlow = ReturnType<typeof createReviewFlow>;

export interface ReviewWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  engine: Engine;
  round: ReviewRound;
  log: Logger;
  /** Angle reviews at once in this process. */
  concurrency?: number;
  /** Angle reviews per minute across all workers: protects the LLM provider. */
  perMinute?: number;
}

export function startReviewWorkers(options: ReviewWorkerOptions) {
  const { connection, prefix, engine, round, log } = options;
  const stall = { lockDuration: 120_000, stalledInterval: 30_000, maxStalledCount: 2 };
  const angles = new Worker<AngleJob, AngleResult>(REVIEW_QUEUES.angles, (job) => round.runAngle(job.data), {
    connection,
    prefix,
    ...stall,
    concurrency: options.concurrency ?? 4,
    ...(options.perMinute ? { limiter: { max: options.perMinute, duration: 60_000 } } : {}),
  });
  const rounds = new Worker<RoundJob, string>(REVIEW_QUEUES.rounds, (job) => finish(job, engine, round), { connection, prefix, ...stall, concurrency: 4 });
  for (const worker of [angles, rounds]) {
    worker.on("failed", (job, error) => log.warn({ queue: worker.name, jobId: job?.id, attempts: job?.attemptsMade, err: error }, `review job failed: ${error.message}`));
    worker.on("error", (error) => log.error({ queue: worker.name, err: error }, `review worker error: ${error.message}`));
  }
  return {
    angles,
    rounds,
    async close() {
      await Promise.all([angles.close(), rounds.close()]);
    },
  };
}

async function finish(job: Job<RoundJob>, engine: Engine, round: ReviewRound): Promise<string> {
  const [values, failures] = await Promise.all([job.getChildrenValues<AngleResult>(), job.getIgnoredChildrenFailures()]);
  const results = job.data.angles.map((angle): AngleResult => {
    const value = Object.entries(values).find(([key]) => key.endsWith(`:${job.data.effectId}_${angle}`))?.[1];
    if (value) return value;
    const failure = Object.entries(failures).find(([key]) => key.endsWith(`:${job.data.effectId}_${angle}`))?.[1];
    return { angle, status: "failed", error: failure ?? "the review job did not finish", tokens: 0 };
  });
  const event = await round.finishRound(job.data, results);
  await engine.submitAndApply(job.data.issueKey, event, { source: `${job.data.effectId}-done`, requiresRun: false });
  return "done";
}
