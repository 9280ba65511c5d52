// Review fan-out: one review round of the four angles through the real BullMQ flow (a parent per
// round, a child per angle: createReviewFlow + startReviewWorkers on a private redis-server),
// each child running the real LangGraph review (runAngleReview: gather → (ask-model ‖ analyze) →
// merge) over a fixture diff with a fake chat model of FIXED latency; against the slowest single
// angle review run alone (the same graph, the same fake latency, no BullMQ) in the same run.
// ratio = round wall time (flow start → parent completed) / slowest single review: 1.0 means the
// four angles cost what the slowest one does; 4.0 would mean they ran one after another.
// Not in the ratio, for diagnosis: the same flow whose children only sleep the model latency
// (the flow's own cost), the CPU one angle review uses, and how long the event loop was busy
// during a round (the four reviews share one event loop: their CPU work queues up).
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { ANGLES, DEFAULT_CONFIG, type Angle } from "../src/pipeline/config.js";
import type { PipelineEvent } from "../src/pipeline/events.js";
import { createReviewFlow, startReviewWorkers, type ReviewRound, type RoundJob } from "../src/queue/review-flow.js";
import { createRedis } from "../src/queue/redis.js";
import { ANGLE_DEFINITIONS } from "../src/reviews/angles.js";
import { parseUnifiedDiff } from "../src/reviews/diff.js";
import { runAngleReview, type AngleReview } from "../src/reviews/graph.js";
import { summariseRound } from "../src/reviews/round.js";
import type { ReviewSource } from "../src/reviews/source.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { silent } from "./lib/app-env.js";
import { buildEngine } from "./lib/engine.js";
import { round, type BenchResult } from "./lib/result.js";

/** The fake model's fixed answer time per call: every angle makes one call on the fixture diff. */
const LATENCY_MS = Number(process.env.BENCH_REVIEW_LATENCY_MS ?? 300);
const REPEATS = 7;
const ROUND_TIMEOUT_MS = 60_000;

const fixture = (path: string) => readFileSync(new URL(`../test/fixtures/${path}`, import.meta.url), "utf8");
const DIFF = parseUnifiedDiff(fixture("diffs/review/base.diff"));
const FILES: ReadonlyMap<string, string> = new Map(Object.entries(JSON.parse(fixture("diffs/review/base.after.json")) as Record<string, string>));
const MODEL_ANSWER = fixture("llm/review-security-base.json");

/** A FakeListChatModel that answers after a fixed delay, once per call (not per streamed character). */
class FixedLatencyChatModel extends FakeListChatModel {
  calls = 0;
  override async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    this.calls++;
    await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
    return super._generate(messages, options, runManager);
  }
}

const source: ReviewSource = { load: async () => ({ diff: DIFF, files: FILES, mode: "full", notes: [] }) };
let modelCalls = 0;

async function reviewAngle(angle: Angle): Promise<AngleReview> {
  const model = new FixedLatencyChatModel({ responses: [MODEL_ANSWER] });
  const review = await runAngleReview(ANGLE_DEFINITIONS[angle], { source, model }, { config: DEFAULT_CONFIG, earlier: [] });
  modelCalls += model.calls;
  return review;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export default async function reviewFanout(): Promise<BenchResult> {
  const redis = await startRedisServer();
  const bench = await buildEngine({ redisUrl: redis.url, prefix: "bench", log: silent });
  const connection = createRedis(redis.url);
  const inFlow = new Map<string, number>(); // effectId/angle → ms spent in runAngle
  const reviewRound: ReviewRound = {
    async runAngle(job) {
      const started = performance.now();
      if (job.effectId.startsWith("sleep-")) {
        // Diagnosis only: a child that just waits the model latency, to isolate the flow's own cost.
        await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
        inFlow.set(`${job.effectId}/${job.angle}`, performance.now() - started);
        return { angle: job.angle, status: "ok", findings: [], notes: [], tokens: 0, mode: "full", reviewedPaths: [] };
      }
      const review = await reviewAngle(job.angle);
      inFlow.set(`${job.effectId}/${job.angle}`, performance.now() - started);
      return { ...review, status: "ok", reviewedPaths: [] };
    },
    async finishRound(job, results) {
      const summary = summariseRound({ results, earlier: [], config: DEFAULT_CONFIG });
      return { type: "review.finished", at: new Date().toISOString(), round: job.round, sha: job.sha, outcomes: summary.outcomes, blocking: summary.blocking, tokens: summary.tokens } satisfies PipelineEvent;
    },
  };
  const flow = createReviewFlow(connection, bench.queuePrefix);
  const workers = startReviewWorkers({ connection, prefix: bench.queuePrefix, engine: bench.engine, round: reviewRound, log: silent });
  const waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  workers.rounds.on("completed", (job) => waiting.get(job.id!)?.resolve());
  workers.rounds.on("failed", (job, error) => waiting.get(job?.id ?? "")?.reject(new Error(`bench review-fanout: round ${job?.id} failed: ${error.message}`)));
  workers.angles.on("failed", (job, error) => waiting.get(job?.data.effectId ?? "")?.reject(new Error(`bench review-fanout: angle ${job?.id} failed: ${error.message}`)));

  /** One round of the four angles through the flow: wall time from start to the parent's completion. */
  async function timedRound(index: number, kind: "bench" | "sleep" = "bench"): Promise<{ wallMs: number; slowestInFlowMs: number; busyMs: number }> {
    const effectId = `${kind}-${index}_review_r0_start-review`;
    const issueKey = kind === "bench" ? `4242-${index}` : `4343-${index}`;
    const job: RoundJob = { issueKey, runId: `${issueKey}-1`, round: 0, sha: `${String(index).padStart(7, "0")}${"f".repeat(33)}`, angles: [...ANGLES], effectId };
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench review-fanout: round ${effectId} did not finish in ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS);
      const settle = (then: () => void) => {
        clearTimeout(timer);
        waiting.delete(effectId);
        then();
      };
      waiting.set(effectId, { resolve: () => settle(resolve), reject: (error) => settle(() => reject(error)) });
    });
    const loop = performance.eventLoopUtilization();
    const started = performance.now();
    await flow.start(job);
    await done;
    const wallMs = performance.now() - started;
    const busyMs = performance.eventLoopUtilization(loop).active;
    const slowestInFlowMs = Math.max(...ANGLES.map((angle) => inFlow.get(`${effectId}/${angle}`) ?? 0));
    return { wallMs, slowestInFlowMs, busyMs };
  }

  /** Each angle's review alone, one after another: the slowest is the bare substrate. */
  const cpuPerSingleMs: number[] = [];
  async function singles(): Promise<Record<Angle, number>> {
    const times = {} as Record<Angle, number>;
    for (const angle of ANGLES) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await reviewAngle(angle);
      times[angle] = performance.now() - started;
      const used = process.cpuUsage(cpu);
      cpuPerSingleMs.push((used.user + used.system) / 1000);
    }
    return times;
  }

  const sleepingRoundsMs: number[] = [];
  const sleepingBusyMs: number[] = [];
  const runs: { singleMs: Record<Angle, number>; slowestSingleMs: number; wallMs: number; slowestInFlowMs: number; busyMs: number; ratio: number }[] = [];
  try {
    // Warm-up: module code, the graphs' compilation paths, Redis scripts, worker connections.
    await singles();
    await timedRound(0);
    for (let repeat = 1; repeat <= REPEATS; repeat++) {
      const singleMs = await singles();
      const slowestSingleMs = Math.max(...Object.values(singleMs));
      const { wallMs, slowestInFlowMs, busyMs } = await timedRound(repeat);
      runs.push({ singleMs, slowestSingleMs, wallMs, slowestInFlowMs, busyMs, ratio: wallMs / slowestSingleMs });
      const sleeping = await timedRound(repeat, "sleep");
      sleepingRoundsMs.push(sleeping.wallMs);
      sleepingBusyMs.push(sleeping.busyMs);
    }
    // Every round did the real work: one review.finished in its issue's log, with four outcomes.
    for (let index = 0; index <= REPEATS; index++) {
      const logged = (await bench.store.history(`4242-${index}`)).filter((entry) => entry.kind === "event" && entry.event.type === "review.finished");
      const outcomes = logged[0]?.kind === "event" && logged[0].event.type === "review.finished" ? logged[0].event.outcomes.length : 0;
      if (logged.length !== 1 || outcomes !== ANGLES.length) throw new Error(`bench review-fanout: round ${index} logged ${logged.length} review.finished event(s) with ${outcomes} outcomes`);
    }
  } finally {
    await workers.close();
    await flow.close();
    await connection.quit().catch(() => undefined);
    await bench.stop();
    const exited = once(redis.process, "exit");
    redis.process.kill("SIGKILL");
    await exited;
  }

  const roundsFinished = runs.length + 1; // with the warm-up round, each checked in its issue's log
  const ratio = median(runs.map((run) => run.ratio));
  const wallMs = median(runs.map((run) => run.wallMs));
  const slowestSingleMs = median(runs.map((run) => run.slowestSingleMs));
  const sequentialMs = median(runs.map((run) => Object.values(run.singleMs).reduce((sum, ms) => sum + ms, 0)));
  const slowestInFlowMs = median(runs.map((run) => run.slowestInFlowMs));
  return {
    benchmark: "review-fanout",
    ratio: round(ratio, 3),
    goal: 1.15,
    better: "lower",
    unit: "× the slowest single review",
    rows: [
      { subject: `slowest single angle review alone (graph + fake model, ${LATENCY_MS} ms/call)`, medianMs: round(slowestSingleMs, 1) },
      { subject: "the four angle reviews one after another (for scale)", medianMs: round(sequentialMs, 1) },
      { subject: "review round: 4 angles through the BullMQ flow, start → parent completed", medianMs: round(wallMs, 1) },
      { subject: "  of which the slowest angle inside its child job", medianMs: round(slowestInFlowMs, 1) },
      { subject: `diagnosis: the same flow, children only sleeping ${LATENCY_MS} ms (no graph)`, medianMs: round(median(sleepingRoundsMs), 1) },
    ],
    details: {
      latencyMs: LATENCY_MS,
      repeats: REPEATS,
      modelCalls,
      roundsFinished,
      flowOverheadMs: round(wallMs - slowestInFlowMs, 1),
      /** CPU of one angle review alone (graph, analyzers, prompt, zod; the model only waits): four of them share one event loop in the flow. */
      cpuMsPerSingleReview: round(median(cpuPerSingleMs), 1),
      /** Event loop busy during a round (performance.eventLoopUtilization): with reviews, and with children that only sleep. */
      eventLoopBusyMsPerRound: round(median(runs.map((run) => run.busyMs)), 1),
      eventLoopBusyMsPerSleepingRound: round(median(sleepingBusyMs), 1),
      sleepingFlowRatio: round(median(sleepingRoundsMs) / LATENCY_MS, 3),
      sleepingRoundsMs: sleepingRoundsMs.map((ms) => round(ms, 1)),
      allRuns: runs.map((run) => ({ ...run, ratio: round(run.ratio, 3), wallMs: round(run.wallMs, 1), busyMs: round(run.busyMs, 1), slowestSingleMs: round(run.slowestSingleMs, 1), slowestInFlowMs: round(run.slowestInFlowMs, 1), singleMs: Object.fromEntries(Object.entries(run.singleMs).map(([angle, ms]) => [angle, round(ms, 1)])) })),
    },
  };
}
