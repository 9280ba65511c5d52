// An effect that waits (WaitError: another worker's claim, GitHub not listing a dispatch yet) is
// run again shortly and never spends its attempts; one that fails (RetryLaterError, a 5xx) does.
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import { EFFECT_ATTEMPTS } from "../../src/queue/queues.js";
import { WaitError } from "../../src/queue/failures.js";
import { createRedis } from "../../src/queue/redis.js";
import { startWorkers, type ExecuteEffect } from "../../src/queue/workers.js";
import { events, testEngine } from "../support/engine.js";

const { engine, url, queuePrefix, close } = testEngine();
afterAll(close);

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("an effect that waits", () => {
  it("runs again without spending an attempt, more times than it has attempts, and then lands", async () => {
    const key = "501-71";
    // Dated now: the implement deadline (2 h) must not fire during the test.
    const now = () => new Date().toISOString();
    await engine.submit(key, events.labeled(71, now()), { source: "label-71", requiresRun: false });
    await engine.submit(key, events.configLoaded(now()), { source: "config-71", requiresRun: false });
    await engine.apply(key);

    const waits = EFFECT_ATTEMPTS + 2;
    let dispatchCalls = 0;
    const execute: ExecuteEffect = async (effect) => {
      if (effect.kind !== "dispatch-implement") return null;
      dispatchCalls++;
      if (dispatchCalls <= waits) throw new WaitError("another attempt is dispatching");
      const dispatched: PipelineEvent = { type: "implement.dispatched", at: now(), round: effect.round, workflowRunId: 7001 };
      return dispatched;
    };
    const connection = createRedis(url);
    const workers = startWorkers({ connection, prefix: queuePrefix, engine, execute, log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }), concurrency: { events: 1, effects: 2, timers: 1 } });
    try {
      await until(async () => (await engine.store.load(key)).run?.workflowRunId === 7001);
      expect(dispatchCalls).toBe(waits + 1);
      const run = (await engine.store.load(key)).run!;
      expect(run.state).toBe("active");
      const job = (await engine.queues.effects.getCompleted()).find((candidate) => candidate.data.effect.kind === "dispatch-implement");
      expect(job?.attemptsMade ?? 0).toBeLessThan(EFFECT_ATTEMPTS);
      expect((await engine.queues.effects.getFailed()).length).toBe(0);
    } finally {
      await workers.close();
      await connection.quit();
    }
  }, 40_000);
});
