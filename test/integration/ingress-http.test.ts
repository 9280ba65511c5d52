// Bad input at the front door: what GitHub (or anyone) sends over HTTP, and what it changes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedRequest, webhook } from "../support/github/webhooks.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import { appEnv } from "../support/app-env.js";
import { startConveyor } from "../../src/main.js";
import { RedisUnavailableError } from "../../src/queue/redis.js";
import { freePort } from "../support/redis-server.js";
import { pino } from "pino";
import { inject } from "vitest";

let app: TestConveyor;

beforeAll(async () => {
  app = await startTestConveyor("web");
});
afterAll(async () => {
  await app.stop();
});

/** Every key this app instance wrote in Redis (its prefix is unique to the test). */
async function storedKeys(): Promise<string[]> {
  const { redis, keys } = app.conveyor.engine.store;
  const [own, queues] = await Promise.all([redis.keys(`${keys.prefix}:*`), redis.keys(`{${keys.prefix}}:events:*`)]);
  return [...own, ...queues.filter((key) => !key.endsWith(":meta") && !key.includes(":repeat") && !key.includes("sweep"))];
}

describe("webhook ingress over HTTP", () => {
  it("answers a bad signature with 400 and stores nothing", async () => {
    const request = signedRequest("not-the-secret", webhook("issues", "labeled", { label: { name: "conveyor" } }));
    const response = await fetch(`${app.url}/api/github/webhooks`, request as RequestInit);
    expect(response.status).toBe(400);
    expect(await storedKeys()).toEqual([]);
  });

  it("answers a missing signature with 400 and stores nothing", async () => {
    const request = signedRequest(app.secret, webhook("issues", "labeled", { label: { name: "conveyor" } }));
    const headers = { ...request.headers } as Record<string, string>;
    delete headers["x-hub-signature-256"];
    const response = await fetch(`${app.url}/api/github/webhooks`, { ...request, headers } as RequestInit);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await storedKeys()).toEqual([]);
  });

  it("answers a correctly signed payload that lacks the fields Conveyor reads, and writes nothing", async () => {
    const event = webhook("issues", "labeled", { label: { name: "conveyor" } });
    const payload = { ...event.payload, repository: { name: "Hello-World" } }; // no id, no owner
    const response = await app.deliver({ ...event, payload });
    expect(response.status).toBe(200);
    expect(await storedKeys()).toEqual([]);
  });

  it("answers fast without waiting for stage work: the run is only logged and an apply job waits", async () => {
    const response = await app.deliver(webhook("issues", "labeled", { label: { name: "conveyor" }, issue: { number: 77 } }));
    expect(response.status).toBe(200);
    // The web role runs no workers: the event is stored and its apply job is enqueued, nothing more.
    const history = await app.conveyor.engine.store.history("186853002-77");
    expect(history.map((entry) => entry.kind)).toEqual(["event"]);
    expect(await app.conveyor.engine.queues.events.getWaitingCount()).toBe(1);
    expect((await app.conveyor.engine.store.load("186853002-77")).run).toBeNull();
    expect(await storedKeys()).not.toEqual([]); // the probe the other tests rely on does see writes
  });

  it("serves /healthz with Redis and queue status", async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; redis: { ok: boolean }; queues: Record<string, unknown> };
    expect(body.status).toBe("ok");
    expect(body.redis.ok).toBe(true);
    expect(Object.keys(body.queues).sort()).toEqual(["effects", "events", "timers"]);
  });
});

describe("starting", () => {
  it("fails with a clear error naming the Redis URL when Redis is unreachable", async () => {
    const port = await freePort();
    const { env } = await appEnv(`redis://user:hunter2@127.0.0.1:${port}`);
    const start = startConveyor("start", { env, log: pino({ level: "silent" }) });
    await expect(start).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(start).rejects.toThrow(new RegExp(`cannot reach Redis at redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
    await expect(start).rejects.not.toThrow(/hunter2/);
  });

  it("serves Probot's setup page, built from app.yml, when the app has no credentials yet", async () => {
    const { env, url } = await appEnv(inject("redisUrl"));
    delete env.APP_ID;
    delete env.PRIVATE_KEY;
    const conveyor = await startConveyor("start", { env: { ...env, NO_SMEE_SETUP: "true" }, log: pino({ level: "silent" }) });
    try {
      const response = await fetch(`${url}/probot`);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain("Register GitHub App");
      expect(html).toContain("pull_request_review");
      expect(conveyor.workers).toBeNull();
    } finally {
      await conveyor.stop();
    }
  });
});
