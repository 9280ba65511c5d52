// A review round through BullMQ on the real Redis: createReviewFlow adds one parent per round and
// one child per angle; startReviewWorkers runs them against a ReviewRound whose runAngle returns
// canned AngleResults. A child that crashes with a transient error is retried alone, a child that
// fails for good is reported as failed instead of leaving the parent waiting, the same round
// started twice runs once, and the parent appends review.finished to the issue's log.
import { Queue, UnrecoverableError } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type Angle } from "../../src/pipeline/config.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import { createReviewFlow, REVIEW_QUEUES, startReviewWorkers, type AngleJob, type ReviewRound, type RoundJob } from "../../src/queue/review-flow.js";
import { createRedis } from "../../src/queue/redis.js";
import { findingId, type Finding } from "../../src/reviews/finding.js";
import { summariseRound, type AngleResult } from "../../src/reviews/round.js";
import { REPO, testEngine } from "../support/engine.js";

const { engine, url, queuePrefix, close } = testEngine();
const connection = createRedis(url);
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const SHA = `abcdef1${"0".repeat(33)}`;

/** What each angle's child does, per attempt (1-based); the default answers with canned findings. */
type Behaviour = (job: AngleJob, attempt: number) => Promise<AngleResult>;

function cannedFinding(angle: Angle): Finding {
  const snippet = `const ${angle}Problem = true;`;
  const rule = `${angle}/canned`;
  return { id: findingId(angle, rule, "src/app.ts", snippet), angle, rule, source: "analyzer", path: "src/app.ts", line: 3, severity: "major", title: `A ${angle} problem`, rationale: "canned", suggestion: "", alsoFrom: [], snippet };
}
const answer: Behaviour = async (job) => ({ angle: job.angle, status: "ok", findings: [cannedFinding(job.angle)], notes: [], tokens: 100, mode: "full", reviewedPaths: [] });

/** A ReviewRound that records every call: which angle ran how often, and the rounds finished. */
function recordingRound(behaviours: Partial<Record<Angle, Behaviour>>) {
  const attempts = new Map<string, number>();
  const finished: { job: RoundJob; results: AngleResult[] }[] = [];
  const round: ReviewRound = {
    async runAngle(job) {
      const key = `${job.effectId}/${job.angle}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      return (behaviours[job.angle] ?? answer)(job, attempt);
    },
    async finishRound(job, results) {
      finished.push({ job, results });
      const summary = summariseRound({ results, earlier: [], config: DEFAULT_CONFIG });
      return { type: "review.finished", at: new Date().toISOString(), round: job.round, sha: job.sha, outcomes: summary.outcomes, blocking: summary.blocking, tokens: summary.tokens } satisfies PipelineEvent;
    },
  };
  return { round, attempts, finished, attemptsOf: (effectId: string, angle: Angle) => attempts.get(`${effectId}/${angle}`) ?? 0 };
}

// One worker set for the file; each test routes its angles' behaviour through its effect id.
const routes = new Map<string, ReturnType<typeof recordingRound>>();
const router: ReviewRound = {
  runAngle: (job) => routes.get(job.effectId)!.round.runAngle(job),
  finishRound: (job, results) => routes.get(job.effectId)!.round.finishRound(job, results),
};
let flow: ReturnType<typeof createReviewFlow>;
let workers: ReturnType<typeof startReviewWorkers>;
let rounds: Queue;
let angles: Queue;

beforeAll(() => {
  flow = createReviewFlow(connection, queuePrefix);
  workers = startReviewWorkers({ connection, prefix: queuePrefix, engine, round: router, log });
  rounds = new Queue(REVIEW_QUEUES.rounds, { connection, prefix: queuePrefix });
  angles = new Queue(REVIEW_QUEUES.angles, { connection, prefix: queuePrefix });
});

afterAll(async () => {
  await workers.close();
  await flow.close();
  await rounds.close();
  await angles.close();
  await connection.quit();
  await close();
});

function roundJob(issue: number, effectId: string, angleList: Angle[] = ["architecture", "security", "quality", "techstack"]): RoundJob {
  const issueKey = `${REPO.id}-${issue}`;
  return { issueKey, runId: `${issueKey}-1`, round: 0, sha: SHA, angles: angleList, effectId };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
/**
 * Waits for the round's parent to complete. A retried child waits out its backoff (5 s and
 * up, exponential with jitter) as a delayed job; the test promotes it at once, which changes when
 * the retry runs, not whether or how.
 */
const parentDone = (effectId: string, angleList: Angle[]) =>
  waitFor(`round ${effectId} to complete`, async () => {
    for (const angle of angleList) {
      const child = await angles.getJob(`${effectId}_${angle}`);
      if (child && (await child.getState()) === "delayed") await child.promote().catch(() => undefined);
    }
    return (await rounds.getJobState(effectId)) === "completed";
  });

async function reviewFinishedEvents(issueKey: string) {
  return (await engine.store.history(issueKey)).flatMap((entry) => (entry.kind === "event" && entry.event.type === "review.finished" ? [entry] : []));
}

describe("review flow (BullMQ, real Redis)", () => {
  it("finishes the round with a transient crash retried alone and a permanent failure reported as failed", async () => {
    const effectId = "501-1-1_review_r0_start-review";
    const recorder = recordingRound({
      security: async (job, attempt) => {
        if (attempt === 1) throw Object.assign(new Error("LLM provider answered 429 Too Many Requests"), { status: 429 });
        return answer(job, attempt);
      },
      techstack: async () => {
        throw new UnrecoverableError("techstack: unknown model provider nosuch:model");
      },
    });
    routes.set(effectId, recorder);
    const job = roundJob(1, effectId);
    await flow.start(job);
    await parentDone(effectId, job.angles);

    // The parent ran once, after every child settled, with one result per angle in order.
    expect(recorder.finished).toHaveLength(1);
    const { results } = recorder.finished[0]!;
    expect(results.map((result) => [result.angle, result.status])).toEqual([
      ["architecture", "ok"],
      ["security", "ok"],
      ["quality", "ok"],
      ["techstack", "failed"],
    ]);
    expect(results[3]).toMatchObject({ status: "failed", error: "techstack: unknown model provider nosuch:model", tokens: 0 });
    expect(results[1]).toMatchObject({ status: "ok", findings: [cannedFinding("security")] });

    // Only the crashed child ran again; the permanent failure was not retried.
    expect(["architecture", "security", "quality", "techstack"].map((angle) => recorder.attemptsOf(effectId, angle as Angle))).toEqual([1, 2, 1, 1]);
    const child = async (angle: Angle) => angles.getJob(`${effectId}_${angle}`);
    expect((await child("security"))!.attemptsMade).toBe(2);
    expect(await (await child("security"))!.getState()).toBe("completed");
    expect((await child("architecture"))!.attemptsMade).toBe(1);
    expect(await (await child("techstack"))!.getState()).toBe("failed");
    expect((await child("techstack"))!.attemptsMade).toBe(1);

    // review.finished is in the issue's log, from the round's effect id.
    const logged = await reviewFinishedEvents(job.issueKey);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.source).toBe(`${effectId}-done`);
    expect(logged[0]!.event).toMatchObject({
      type: "review.finished",
      round: 0,
      sha: SHA,
      tokens: 300,
      outcomes: [
        { angle: "architecture", status: "ok", blocking: 0, total: 1 },
        { angle: "security", status: "ok", blocking: 0, total: 1 },
        { angle: "quality", status: "ok", blocking: 0, total: 1 },
        { angle: "techstack", status: "failed", blocking: 0, total: 0, error: "techstack: unknown model provider nosuch:model" },
      ],
    });
  }, 20_000);

  it("runs a round started twice (same effect id) once, also when started again after it finished", async () => {
    const effectId = "501-2-1_review_r0_start-review";
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const recorder = recordingRound({
      // Hold one child so the second start lands while the round is still running.
      quality: async (job, attempt) => {
        await gate;
        return answer(job, attempt);
      },
    });
    routes.set(effectId, recorder);
    const job = roundJob(2, effectId);
    await flow.start(job);
    await waitFor("quality to start", async () => recorder.attemptsOf(effectId, "quality") > 0);
    await flow.start(job);
    release();
    await parentDone(effectId, job.angles);
    await flow.start(job);
    // Give a wrongly re-added round every chance to run.
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(recorder.finished).toHaveLength(1);
    expect([...recorder.attempts.values()]).toEqual([1, 1, 1, 1]);
    expect(await rounds.getJobState(effectId)).toBe("completed");
    expect(await reviewFinishedEvents(job.issueKey)).toHaveLength(1);
  }, 20_000);

  it("reports a child that exhausts its retries as failed (ignoreDependencyOnFailure), not a parent waiting forever", async () => {
    const effectId = "501-3-1_review_r0_start-review";
    const recorder = recordingRound({
      architecture: async () => {
        throw new Error("GitHub answered 502 Bad Gateway");
      },
    });
    routes.set(effectId, recorder);
    const job = roundJob(3, effectId, ["architecture", "security"]);
    await flow.start(job);
    await parentDone(effectId, job.angles);
    // attempts: 3, then the child fails for good and the parent goes on without it.
    expect(recorder.attemptsOf(effectId, "architecture")).toBe(3);
    expect(await (await angles.getJob(`${effectId}_architecture`))!.getState()).toBe("failed");
    expect(recorder.finished[0]!.results).toEqual([
      { angle: "architecture", status: "failed", error: "GitHub answered 502 Bad Gateway", tokens: 0 },
      expect.objectContaining({ angle: "security", status: "ok" }),
    ]);
    const logged = await reviewFinishedEvents(job.issueKey);
    expect(logged.map((entry) => entry.event)).toEqual([expect.objectContaining({ outcomes: [expect.objectContaining({ angle: "architecture", status: "failed" }), expect.objectContaining({ angle: "security", status: "ok" })] })]);
  }, 20_000);
});
