// The metrics derived from applied events and finished angle reviews, without Redis.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/metrics.js";
import type { Run } from "../../src/pipeline/run.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import { makeRun } from "../support/run-factory.js";

const run = (patch: Partial<Run>): Run => makeRun({ stage: "implement", stageStartedAt: "2026-01-01T00:00:00Z", ...patch });

async function value(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && (!("metricName" in v) || !String(v.metricName).endsWith("_bucket")))?.value;
}

describe("Metrics", () => {
  it("derives stage durations, fix rounds and finished runs from applied events", async () => {
    const metrics = new Metrics();
    const event = { type: "review.finished", at: "2026-01-01T00:10:00Z", round: 0, sha: "abc", outcomes: [], blocking: ["x"], tokens: 10 } satisfies PipelineEvent;
    const before = run({ stage: "review", stageStartedAt: "2026-01-01T00:00:00Z" });
    const after = run({ stage: "implement", round: 1, rounds: [{ round: 1, reason: "review", summary: "x", startedAt: event.at }], stageStartedAt: event.at });
    metrics.observeApplied(before, event, after, true);
    metrics.observeApplied(after, { type: "issue.closed", at: "2026-01-01T00:11:00Z", actor: "a", isBot: false }, run({ state: "cancelled", stageStartedAt: event.at }), true);
    metrics.observeApplied(after, { type: "close.finished", at: "2026-01-01T00:11:00Z" }, after, false);
    expect(await value(metrics, "conveyor_fix_rounds_total", { reason: "review" })).toBe(1);
    expect(await value(metrics, "conveyor_runs_finished_total", { state: "cancelled" })).toBe(1);
    expect(await value(metrics, "conveyor_events_applied_total", { type: "close.finished", applied: "false" })).toBe(1);
    const text = await metrics.render();
    expect(text).toContain('conveyor_stage_duration_seconds_sum{stage="review"} 600');
  });

  it("counts findings by angle and severity, tokens and failed angles", async () => {
    const metrics = new Metrics();
    const finding = (severity: "nit" | "major") => ({ angle: "security", severity, file: "a.ts", line: 1, title: "t", rationale: "r", suggestion: "" });
    metrics.observeAngle({ angle: "security", status: "ok", findings: [finding("major"), finding("major"), finding("nit")], notes: [], tokens: 1200, mode: "full", reviewedPaths: [] } as never);
    metrics.observeAngle({ angle: "quality", status: "failed", error: "429", tokens: 30 });
    expect(await value(metrics, "conveyor_review_findings_total", { angle: "security", severity: "major" })).toBe(2);
    expect(await value(metrics, "conveyor_review_findings_total", { angle: "security", severity: "nit" })).toBe(1);
    expect(await value(metrics, "conveyor_llm_tokens_total", { angle: "security" })).toBe(1200);
    expect(await value(metrics, "conveyor_llm_tokens_total", { angle: "quality" })).toBe(30);
    expect(await value(metrics, "conveyor_review_angle_errors_total", { angle: "quality" })).toBe(1);
  });

  it("keeps each instance's registry separate", async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.observeDelivery("issues", "accepted", 0.01);
    expect(await value(a, "conveyor_webhook_deliveries_total")).toBe(1);
    expect(await value(b, "conveyor_webhook_deliveries_total")).toBeUndefined();
  });

  it("registers every metric the README lists, each with its labels and help", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const bullet = readme.slice(readme.indexOf("- `GET /metrics`"), readme.indexOf("- `/dashboard`"));
    const listed = [...bullet.matchAll(/`(conveyor_[a-z_]+)(?:\{([a-z,]+)\})?`/g)].map(([, name, labels]) => ({ name: name!, labels: labels?.split(",") ?? [] }));
    expect(listed.length).toBeGreaterThanOrEqual(10);
    const { registry } = new Metrics();
    for (const { name, labels } of listed) {
      const metric = registry.getSingleMetric(name) as unknown as { help: string; labelNames: string[] } | undefined;
      expect(metric, `${name} is in the README but not registered`).toBeDefined();
      expect(metric!.help.length, name).toBeGreaterThan(10);
      if (labels.length) expect(metric!.labelNames, name).toEqual(labels);
    }
  });
});
