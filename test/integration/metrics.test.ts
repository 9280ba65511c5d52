// /metrics over HTTP: Prometheus text with deliveries, ingress latency, runs and queue depth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhook } from "../support/github/webhooks.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";

let app: TestConveyor;

beforeAll(async () => {
  app = await startTestConveyor("web");
});
afterAll(async () => {
  await app.stop();
});

async function scrape(): Promise<string> {
  const response = await fetch(`${app.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  return response.text();
}

describe("/metrics", () => {
  it("counts deliveries by event and outcome and times ingress", async () => {
    expect((await app.deliver(webhook("issues", "labeled", { label: { name: "conveyor" }, issue: { number: 501 } }))).status).toBe(200);
    expect((await app.deliver(webhook("issues", "labeled", { label: { name: "bug" }, issue: { number: 502 } }))).status).toBe(200);
    const text = await scrape();
    expect(text).toContain('conveyor_webhook_deliveries_total{event="issues",outcome="accepted"} 1');
    expect(text).toContain('conveyor_webhook_deliveries_total{event="issues",outcome="ignored"} 1');
    expect(text).toMatch(/conveyor_ingress_duration_seconds_count\{event="issues"\} 2/);
    // The web role runs no workers: the apply job waits in the events queue.
    expect(text).toContain('conveyor_queue_jobs{queue="events",state="waiting"} 1');
  });

  it("reports live runs by stage and state, read from Redis at scrape time", async () => {
    await app.conveyor.engine.apply("186853002-501");
    const text = await scrape();
    expect(text).toContain('conveyor_runs{stage="intake",state="active"} 1');
    expect(text).toContain('conveyor_events_applied_total{type="issue.labeled",applied="true"} 1');
  });

  it("does not shadow the webhook path or /healthz", async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/metrics`, { method: "POST" })).status).not.toBe(200);
  });
});
