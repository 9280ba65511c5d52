// Redis restarted mid-run (AOF on, as `npm start` runs it): runs continue where they were.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, expect, it } from "vitest";
import { pino } from "pino";
import { Engine } from "../../src/queue/engine.js";
import { Keys } from "../../src/queue/keys.js";
import { createQueues } from "../../src/queue/queues.js";
import { createRedis } from "../../src/queue/redis.js";
import { RunStore } from "../../src/queue/run-store.js";
import { startWorkers, type ExecuteEffect } from "../../src/queue/workers.js";
import { DEFAULT_CONFIG } from "../../src/pipeline/config.js";
import { startRedisServer } from "../support/redis-server.js";
import { events } from "../support/engine.js";

const dir = mkdtempSync(join(tmpdir(), "conveyor-aof-"));
const persistence = ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", dir];
let server: ChildProcess | undefined;

afterAll(() => {
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** No GitHub: each effect answers with the event GitHub's answer would produce. */
const execute: ExecuteEffect = async (effect, context) => {
  if (effect.kind === "load-config") return { type: "config.loaded", at: context.now(), config: DEFAULT_CONFIG };
  if (effect.kind === "dispatch-implement") return { type: "implement.dispatched", at: context.now(), round: effect.round, workflowRunId: 4242 };
  return null;
};

async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => null);
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it("continues a run after Redis restarts with its AOF", async () => {
  const first = await startRedisServer(persistence, "127.0.0.2");
  server = first.process;
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const redis = createRedis(first.url);
  redis.on("error", () => {});
  const keys = new Keys("restart");
  const queues = createQueues(redis, "{restart}");
  const engine = new Engine(new RunStore(redis, keys), queues, log);
  const workerConnection = redis.duplicate();
  workerConnection.on("error", () => {});
  const workers = startWorkers({ connection: workerConnection, prefix: "{restart}", engine, execute, log });
  const key = "501-1";
  try {
    await engine.submit(key, events.labeled(1), { source: "label", requiresRun: false });
    const before = await waitFor(async () => {
      const { run } = await engine.store.load(key);
      return run?.workflowRunId === 4242 && run;
    }, "the run to reach implement");
    expect(before.stage).toBe("implement");

    // Stop Redis the way an operator would (SIGTERM flushes the AOF), then start it on the same port.
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // let everysec fsync what the last second wrote
    server.kill("SIGTERM");
    await new Promise((resolve) => server!.once("exit", resolve));
    server = spawn("redis-server", ["--port", String(first.port), "--bind", "127.0.0.2", "--save", "", "--maxmemory-policy", "noeviction", ...persistence], { stdio: "ignore" });

    const after = await waitFor(async () => (await engine.store.load(key)).run, "Redis to come back with the run");
    expect(after).toEqual(before);

    // The run goes on: the next event is applied by the same (reconnected) workers.
    await engine.submit(key, { type: "implement.finished", at: new Date().toISOString(), round: 0, workflowRunId: 4242, outcome: "failed", detail: "agent crashed" }, { source: "finished", requiresRun: true });
    const parked = await waitFor(async () => {
      const { run } = await engine.store.load(key);
      return run?.state === "needs-human" && run;
    }, "the run to apply the next event after the restart");
    expect(parked.version).toBe(before.version + 1);
    expect(parked.reason?.what).toMatch(/agent crashed|failed/);
  } finally {
    // Bounded, as src/main.ts bounds it with SHUTDOWN_TIMEOUT_MS: after a Redis restart a BullMQ
    // worker's blocking client can stay "reconnecting" and close() then never resolves
    // (taskforcesh/bullmq#4656); the connections are dropped below either way.
    await Promise.race([workers.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    await queues.close();
    redis.disconnect();
    workerConnection.disconnect();
  }
}, 120_000);
