import type { IncomingMessage, ServerResponse } from "node:http";
import type { Job, Worker } from "bullmq";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PipelineEvent } from "./pipeline/events.js";
import type { Run } from "./pipeline/run.js";
import type { Queues } from "./queue/queues.js";
import type { RunStore } from "./queue/run-store.js";
import type { AngleResult } from "./reviews/round.js";

/** Runs read from Redis per scrape at most: the gauge stays cheap however many runs are live. */
export const RUN_SCRAPE_LIMIT = 1000;

export interface MetricsSources {
  store: RunStore;
  queues: Queues;
}

/**
 * Conveyor's Prometheus metrics, in a registry of their own (no global state): counters and
 * histograms observed where things happen (ingress, the engine's applied events, worker job
 * events), gauges for runs and queues read from Redis at scrape time.
 */
/** Latency buckets (seconds) of queue jobs: milliseconds to minutes. */
const JOB_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300];

export class Metrics {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;

  readonly deliveries = this.counter("conveyor_webhook_deliveries_total", "Webhook deliveries handled, by event and outcome (accepted, ignored, malformed, error)", ["event", "outcome"]);
  readonly ingressSeconds = this.histogram("conveyor_ingress_duration_seconds", "Time from a verified delivery to its events being logged", ["event"], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]);
  readonly eventsApplied = this.counter("conveyor_events_applied_total", "Pipeline events folded into runs, by type and whether decide applied them", ["type", "applied"]);
  readonly stageSeconds = this.histogram("conveyor_stage_duration_seconds", "Time a run spent in a stage, observed when it leaves the stage", ["stage"], [1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21_600, 86_400, 604_800]);
  readonly fixRounds = this.counter("conveyor_fix_rounds_total", "Fix rounds started, by reason (review, ci, changes-requested, command, merge-conflict)", ["reason"]);
  readonly runsFinished = this.counter("conveyor_runs_finished_total", "Runs that reached a terminal state (done, cancelled, failed)", ["state"]);
  readonly findings = this.counter("conveyor_review_findings_total", "Review findings reported, by angle and severity", ["angle", "severity"]);
  readonly llmTokens = this.counter("conveyor_llm_tokens_total", "LLM tokens spent by reviews, by angle", ["angle"]);
  readonly reviewErrors = this.counter("conveyor_review_angle_errors_total", "Angle reviews that failed (LLM errors, invalid model output, GitHub errors), by angle", ["angle"]);
  readonly jobWaitSeconds = this.histogram("conveyor_job_wait_seconds", "Time a job waited in its queue before a worker took it (delayed jobs: from when they were due)", ["queue"], JOB_BUCKETS);
  readonly scheduleDelaySeconds = this.histogram("conveyor_schedule_firing_delay_seconds", "How long after its due time a schedule firing ran (jitter included), by outcome", ["outcome"], [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600]);
  readonly jobRunSeconds = this.histogram("conveyor_job_duration_seconds", "Time a worker spent on a job, by queue and result", ["queue", "result"], JOB_BUCKETS);

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "conveyor_process_" });
    this.gauge("conveyor_runs", `Live runs by stage and state (at most ${RUN_SCRAPE_LIMIT} read per scrape)`, ["stage", "state"], async (from) => countRuns(from.store));
    this.gauge("conveyor_queue_jobs", "Jobs per queue and state", ["queue", "state"], async (from) => {
      const { events, effects, timers } = from.queues;
      const read = [events, effects, timers].map(async (queue) => {
        const counts = await queue.getJobCounts("waiting", "active", "delayed", "failed", "prioritized", "waiting-children");
        return Object.entries(counts).map(([state, count]) => [{ queue: queue.name, state }, count] as const);
      });
      return (await Promise.all(read)).flat();
    });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** A gauge read at scrape time from the attached sources (zero series until attached). */
  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (from: MetricsSources) => Promise<Iterable<readonly [Partial<Record<L, string>>, number]>>): void {
    const sources = () => this.sources;
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        const from = sources();
        if (!from) return;
        for (const [labels, value] of await read(from)) this.set(labels, value);
      },
    });
  }

  /** Where the scrape-time gauges read from (the store and queues of this process). */
  attach(sources: MetricsSources): this {
    this.sources = sources;
    return this;
  }

  observeDelivery(event: string, outcome: string, seconds: number): void {
    this.deliveries.inc({ event, outcome });
    this.ingressSeconds.observe({ event }, seconds);
  }

  /** Called by the engine for every event it folds: derives stage, round, finding and token metrics. */
  observeApplied(before: Run | null, event: PipelineEvent, after: Run | null, applied: boolean): void {
    this.eventsApplied.inc({ type: event.type, applied: String(applied) });
    if (!applied || !after) return;
    if (before && before.stageStartedAt !== after.stageStartedAt) {
      const seconds = (Date.parse(event.at) - Date.parse(before.stageStartedAt)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) this.stageSeconds.observe({ stage: before.stage }, seconds);
    }
    if (before && after.round > before.round) this.fixRounds.inc({ reason: after.rounds.at(-1)?.reason ?? "unknown" });
    if (before && before.state !== after.state && ["done", "cancelled", "failed"].includes(after.state)) this.runsFinished.inc({ state: after.state });
  }

  /** Job wait and run time of the pipeline's workers. */
  watchWorkers(workers: Iterable<Worker>): void {
    for (const worker of workers) {
      worker.on("completed", (job) => this.observeJob(worker.name, job, "completed"));
      worker.on("failed", (job) => job && this.observeJob(worker.name, job, "failed"));
    }
  }

  /** Findings, tokens and errors from finished angle reviews (their job's return value). */
  watchAngleWorker(worker: Worker): void {
    worker.on("completed", (job) => this.observeAngle(job.returnvalue as AngleResult | undefined));
    worker.on("failed", (job) => job && this.reviewErrors.inc({ angle: String((job.data as { angle?: string }).angle ?? "unknown") }));
  }

  observeAngle(result: AngleResult | undefined): void {
    if (!result) return;
    this.llmTokens.inc({ angle: result.angle }, result.tokens);
    if (result.status === "failed") {
      this.reviewErrors.inc({ angle: result.angle });
      return;
    }
    for (const finding of result.findings) this.findings.inc({ angle: result.angle, severity: finding.severity });
  }

  private observeJob(queue: string, job: Job, result: string): void {
    if (job.processedOn) {
      const due = job.timestamp + (job.delay ?? 0);
      this.jobWaitSeconds.observe({ queue }, Math.max(0, job.processedOn - due) / 1000);
      this.jobRunSeconds.observe({ queue, result }, Math.max(0, (job.finishedOn ?? Date.now()) - job.processedOn) / 1000);
    }
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Counts live runs by stage and state, reading at most RUN_SCRAPE_LIMIT run records (through the store, which owns their encoding). */
export async function countRuns(store: RunStore): Promise<Map<{ stage: string; state: string }, number>> {
  const keys = await store.activeIssues(RUN_SCRAPE_LIMIT);
  const counts = new Map<string, number>();
  const runs = await Promise.all(keys.map((key) => store.load(key).then((snapshot) => snapshot.run, () => null)));
  for (const run of runs) {
    if (!run) continue;
    const label = `${run.stage}\u0000${run.state}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return new Map(
    [...counts].map(([label, count]) => {
      const [stage, state] = label.split("\u0000") as [string, string];
      return [{ stage, state }, count];
    }),
  );
}

/** `GET /metrics` in Prometheus' text format. */
export function metricsHandler(metrics: Metrics) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return false;
    try {
      const body = await metrics.render();
      res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body);
    } catch (error) {
      res.writeHead(503, { "content-type": "text/plain" }).end(`metrics: ${(error as Error).message}\n`);
    }
    return true;
  };
}
