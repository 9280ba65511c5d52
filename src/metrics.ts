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
export class Metrics {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;

  readonly deliveries = new Counter({
    name: "conveyor_webhook_deliveries_total",
    help: "Webhook deliveries handled, by event and outcome (accepted, ignored, malformed, error)",
    labelNames: ["event", "outcome"] as const,
    registers: [this.registry],
  });
  readonly ingressSeconds = new Histogram({
    name: "conveyor_ingress_duration_seconds",
    help: "Time from a verified delivery to its events being logged",
    labelNames: ["event"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly eventsApplied = new Counter({
    name: "conveyor_events_applied_total",
    help: "Pipeline events folded into runs, by type and whether decide applied them",
    labelNames: ["type", "applied"] as const,
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: "conveyor_stage_duration_seconds",
    help: "Time a run spent in a stage, observed when it leaves the stage",
    labelNames: ["stage"] as const,
    buckets: [1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21_600, 86_400, 604_800],
    registers: [this.registry],
  });
  readonly fixRounds = new Counter({
    name: "conveyor_fix_rounds_total",
    help: "Fix rounds started, by reason (review, ci, changes-requested, command, merge-conflict)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly runsFinished = new Counter({
    name: "conveyor_runs_finished_total",
    help: "Runs that reached a terminal state (done, cancelled, failed)",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  readonly findings = new Counter({
    name: "conveyor_review_findings_total",
    help: "Review findings reported, by angle and severity",
    labelNames: ["angle", "severity"] as const,
    registers: [this.registry],
  });
  readonly llmTokens = new Counter({
    name: "conveyor_llm_tokens_total",
    help: "LLM tokens spent by reviews, by angle",
    labelNames: ["angle"] as const,
    registers: [this.registry],
  });
  readonly reviewErrors = new Counter({
    name: "conveyor_review_angle_errors_total",
    help: "Angle reviews that failed (LLM errors, invalid model output, GitHub errors), by angle",
    labelNames: ["angle"] as const,
    registers: [this.registry],
  });
  readonly jobWaitSeconds = new Histogram({
    name: "conveyor_job_wait_seconds",
    help: "Time a job waited in its queue before a worker took it (delayed jobs: from when they were due)",
    labelNames: ["queue"] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });
  readonly jobRunSeconds = new Histogram({
    name: "conveyor_job_duration_seconds",
    help: "Time a worker spent on a job, by queue and result",
    labelNames: ["queue", "result"] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "conveyor_process_" });
    const sources = () => this.sources;
    new Gauge({
      name: "conveyor_runs",
      help: `Live runs by stage and state (at most ${RUN_SCRAPE_LIMIT} read per scrape)`,
      labelNames: ["stage", "state"] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const from = sources();
        if (!from) return;
        for (const [labels, count] of await countRuns(from.store)) this.set(labels, count);
      },
    });
    new Gauge({
      name: "conveyor_queue_jobs",
      help: "Jobs per queue and state",
      labelNames: ["queue", "state"] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const from = sources();
        if (!from) return;
        const { events, effects, timers } = from.queues;
        for (const queue of [events, effects, timers]) {
          const counts = await queue.getJobCounts("waiting", "active", "delayed", "failed", "prioritized", "waiting-children");
          for (const [state, count] of Object.entries(counts)) this.set({ queue: queue.name, state }, count);
        }
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
