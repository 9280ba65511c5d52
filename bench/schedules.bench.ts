// Schedules: 1,000 repository schedules registered through Conveyor's sync (job schedulers, the
// registry and the firing log), then fired for a while by the schedule worker. Reports Redis
// bytes per schedule and the delay from each due time to the start of its firing's action
// (p50/p99), against bare BullMQ job schedulers with a no-op worker on the same cron patterns,
// measured in the same run. Goal: p99 firing delay under 1 s; ratio = p99 / 1000 ms.
import { Queue, Worker } from "bullmq";
import { createRedis } from "../src/queue/redis.js";
import { createScheduleQueue, ScheduleKeys, Schedulers, startScheduleWorker, type ScheduleHandlers } from "../src/queue/schedulers.js";
import { validateSchedules } from "../src/schedules/schema.js";
import { silent } from "./lib/app-env.js";
import { memoryByGroup } from "./lib/key-memory.js";
import { usedMemory } from "./lib/redis-stats.js";
import { benchRedis } from "./lib/redis-server.js";
import { percentile, round, type BenchResult } from "./lib/result.js";

const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 1000);
const REPOS = 10;
/** How long each side fires (s). Every schedule fires every 30 s, at its own second of the half-minute. */
const SECONDS = Number(process.env.BENCH_SCHEDULES_SECONDS ?? 40);
const CONCURRENCY = 16;
/** Due times in the first seconds after a worker starts are left out: steady state is measured. */
const WARMUP_MS = 3_000;
const GOAL_MS = 1000;

const patternOf = (i: number) => `${i % 30}/30 * * * * *`;

interface Delays {
  delays: number[];
  firings: number;
  /** Firings after the warm-up (delays are only recorded for those). */
  from: number;
}

function record(side: Delays, due: number) {
  side.firings++;
  if (due >= side.from) side.delays.push(Date.now() - due);
}

function summarize(name: string, { delays }: Delays, bytesPerSchedule: number) {
  const sorted = [...delays].sort((a, b) => a - b);
  return {
    subject: name,
    schedules: SCHEDULES,
    firings: delays.length,
    "bytes/schedule": Math.round(bytesPerSchedule),
    p50ms: round(percentile(sorted, 50), 1),
    p99ms: round(percentile(sorted, 99), 1),
    maxms: round(sorted.at(-1) ?? 0, 1),
  };
}

async function wait(ms: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

export default async function schedules(): Promise<BenchResult> {
  const server = await benchRedis();
  const redis = createRedis(server.url);
  try {
    // --- the bare substrate: BullMQ job schedulers and a no-op worker --------------------------
    const bareQueue = new Queue("bare", { connection: redis, prefix: "{bare}" });
    const before = await usedMemory(redis);
    for (let i = 0; i < SCHEDULES; i++) {
      await bareQueue.upsertJobScheduler(`bare-${i}`, { pattern: patternOf(i) }, { name: "tick", data: { i }, opts: { removeOnComplete: true } });
    }
    const bareBytes = ((await usedMemory(redis)) - before) / SCHEDULES;
    const bare: Delays = { delays: [], firings: 0, from: Date.now() + WARMUP_MS };
    const bareConnection = redis.duplicate();
    const bareWorker = new Worker(
      "bare",
      async (job) => {
        record(bare, Number(/:(\d+)$/.exec(job.id ?? "")?.[1]));
      },
      { connection: bareConnection, prefix: "{bare}", concurrency: CONCURRENCY },
    );
    await wait(SECONDS * 1000);
    await bareWorker.close();
    for (let i = 0; i < SCHEDULES; i++) await bareQueue.removeJobScheduler(`bare-${i}`);
    await bareQueue.obliterate({ force: true });
    await bareQueue.close();
    await bareConnection.quit();

    // --- Conveyor: sync → job schedulers + registry → ticks → fire jobs → action ----------------
    const queue = createScheduleQueue(redis, "{conveyor}");
    const schedulers = new Schedulers({ redis, queue, keys: new ScheduleKeys("conveyor"), log: silent });
    const conveyor: Delays = { delays: [], firings: 0, from: 0 };
    const start = await usedMemory(redis);
    const perRepo = SCHEDULES / REPOS;
    for (let r = 0; r < REPOS; r++) {
      const raw = Array.from({ length: perRepo }, (_, k) => {
        const i = r * perRepo + k;
        return { id: `s${i}`, cron: patternOf(i), overlap: "allow", misfire: "skip", openIssue: { title: `Scheduled {{date}} ${i}` } };
      });
      const { schedules: valid, problems } = validateSchedules(raw, { minPeriodMs: 1_000 });
      if (problems.length) throw new Error(`bench schedules: invalid schedules: ${JSON.stringify(problems[0])}`);
      await schedulers.sync({ id: 1000 + r, owner: "bench", name: `repo-${r}`, installationId: 1 }, { version: "f".repeat(40), label: "conveyor", schedules: valid, problems: [] });
    }
    const conveyorBytes = ((await usedMemory(redis)) - start) / SCHEDULES;
    const groups = await memoryByGroup(redis, (key) => {
      if (key.startsWith("{conveyor}:schedules:repeat:")) return "BullMQ scheduler hash";
      if (key === "{conveyor}:schedules:repeat") return "BullMQ scheduler index";
      if (/^\{conveyor\}:schedules:repeat:/.test(key) || /^\{conveyor\}:schedules:[^:]*repeat/.test(key)) return "BullMQ delayed tick";
      if (key.startsWith("{conveyor}:schedules:")) return `BullMQ ${key.split(":")[2]}`;
      if (key.includes(":registry")) return "registry";
      if (key.includes(":log:")) return "firing log";
      if (key.includes(":state:")) return "state";
      return key.startsWith("conveyor:") ? "other conveyor" : "other";
    });

    const handlers: ScheduleHandlers = {
      spawn: async (firing) => {
        record(conveyor, firing.scheduledFor);
        return [{ issue: 1, opened: true }];
      },
      runStateOf: async () => null,
      sync: async () => null,
      command: async () => null,
      resyncAll: async () => null,
      reconcileDeliveries: async () => null,
      cleanupRuns: async () => null,
    };
    const connection = redis.duplicate();
    conveyor.from = Date.now() + WARMUP_MS;
    const worker = startScheduleWorker({ connection, prefix: "{conveyor}", schedulers, handlers, log: silent, concurrency: CONCURRENCY });
    await wait(SECONDS * 1000);
    await worker.close();
    await queue.close();
    await connection.quit();

    const bareRow = summarize("bare BullMQ job schedulers (no-op worker)", bare, bareBytes);
    const conveyorRow = summarize("Conveyor schedules (tick → fire → action)", conveyor, conveyorBytes);
    return {
      benchmark: "schedules",
      ratio: round(conveyorRow.p99ms / GOAL_MS, 3),
      goal: 1,
      better: "lower",
      unit: "× 1 s (p99 delay from due time to firing)",
      rows: [bareRow, conveyorRow],
      details: {
        seconds: SECONDS,
        warmupMs: WARMUP_MS,
        concurrency: CONCURRENCY,
        pattern: "every 30 s, spread over the 30 seconds",
        p99VsBare: round(conveyorRow.p99ms / Math.max(1, bareRow.p99ms), 2),
        bytesPerScheduleVsBare: round(conveyorBytes / Math.max(1, bareBytes), 2),
        memoryByGroup: [...groups.values()].map((g) => ({ ...g, perSchedule: Math.round(g.bytes / SCHEDULES) })).sort((a, b) => b.bytes - a.bytes),
      },
    };
  } finally {
    await redis.quit();
    await server.stop();
  }
}
