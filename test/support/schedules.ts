// Schedules on the test Redis: a Schedulers with its own prefix and queue, an injected clock,
// and a Probot in app mode for GitHub calls (faked with nock by the tests).
import { Probot } from "probot";
import { pino } from "pino";
import { Redis } from "ioredis";
import { createScheduleQueue, ScheduleKeys, Schedulers, type SchedulersOptions, type SyncInput } from "../../src/queue/schedulers.js";
import type { RepoRef } from "../../src/pipeline/run.js";
import { validateSchedules } from "../../src/schedules/schema.js";
import { appCredentials } from "./app-env.js";
import { TestOctokit } from "./conveyor.js";
import { testRedis } from "./redis.js";

export const silentLog = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export const SCHED_REPO: RepoRef = { id: 501, owner: "acme", name: "widgets", installationId: 9 };

/** A clock the test moves by hand. */
export function manualClock(start: number) {
  let now = start;
  return {
    now: () => now,
    set(ms: number) {
      now = ms;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

export type TestSchedulers = ReturnType<typeof testSchedulers>;

/** Schedulers on a fresh prefix. `another()` is a second instance (own connections) on the same prefix. */
export function testSchedulers(options: Partial<Omit<SchedulersOptions, "redis" | "queue" | "keys" | "log">> = {}) {
  const { redis, prefix, queuePrefix, url } = testRedis();
  const closers: (() => Promise<unknown>)[] = [];
  const make = (connection: Redis) => {
    const queue = createScheduleQueue(connection, queuePrefix);
    closers.push(() => queue.close());
    return new Schedulers({ redis: connection, queue, keys: new ScheduleKeys(prefix), log: silentLog, ...options });
  };
  const schedulers = make(redis);
  return {
    redis,
    url,
    prefix,
    queuePrefix,
    schedulers,
    queue: schedulers.queue,
    another(extra: Partial<Omit<SchedulersOptions, "redis" | "queue" | "keys" | "log">> = {}) {
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      closers.push(() => connection.quit());
      const queue = createScheduleQueue(connection, queuePrefix);
      closers.push(() => queue.close());
      return new Schedulers({ redis: connection, queue, keys: new ScheduleKeys(prefix), log: silentLog, ...options, ...extra });
    },
    async close() {
      for (const close of closers.reverse()) await close();
      await redis.quit();
    },
  };
}

/** Sync input from raw `schedules:` entries (floor 1 s unless given). */
export function syncInput(raw: unknown[], version = "a".repeat(40), minPeriodMs = 1_000): SyncInput {
  const { schedules, problems } = validateSchedules(raw, { minPeriodMs });
  return { version, label: "conveyor", schedules, problems };
}

/** A Probot in app mode: `auth()` is the app (JWT), `auth(id)` an installation (token from nock). */
export function testProbot() {
  const { appId, privateKey } = appCredentials();
  return new Probot({ appId, privateKey, log: silentLog, Octokit: TestOctokit });
}
