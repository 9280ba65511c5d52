import { pino } from "pino";
import { Engine, type EngineOptions } from "../../src/queue/engine.js";
import { createQueues } from "../../src/queue/queues.js";
import { RunStore } from "../../src/queue/run-store.js";
import { DEFAULT_CONFIG } from "../../src/pipeline/config.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import { testRedis } from "./redis.js";

/**
 * An engine on the test Redis with its own prefix, and no workers: tests call apply() themselves.
 * Status updates are enqueued without a delay unless `options` asks for one.
 */
export function testEngine(options: EngineOptions = { statusDelayMs: 0 }) {
  const { redis, keys, queuePrefix, url } = testRedis();
  const queues = createQueues(redis, queuePrefix);
  const engine = new Engine(new RunStore(redis, keys), queues, pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }), {}, options);
  return {
    engine,
    redis,
    url,
    keys,
    queuePrefix,
    async close() {
      await queues.close();
      await redis.quit();
    },
  };
}

export const REPO = { id: 501, owner: "acme", name: "widgets", installationId: 9 };

export function at(offsetMs = 0): string {
  return new Date(Date.parse("2026-11-22T10:00:00.000Z") + offsetMs).toISOString();
}

export const events = {
  labeled: (issue: number, when = at()): PipelineEvent => ({ type: "issue.labeled", at: when, label: "conveyor", actor: "maria", repo: REPO, issue: { number: issue, title: "Add a widget" } }),
  configLoaded: (when = at(1)): PipelineEvent => ({ type: "config.loaded", at: when, config: DEFAULT_CONFIG }),
  status: (commentId: number, when = at(2)): PipelineEvent => ({
    type: "command.received",
    at: when,
    login: "maria",
    isBot: false,
    command: { name: "status", args: [], commentId, text: "/conveyor status" },
  }),
  closed: (when = at(3)): PipelineEvent => ({ type: "issue.closed", at: when, actor: "maria", isBot: false }),
};
