import { describe, expect, it } from "vitest";
import { isScheduleCommand, parseScheduleCommand, scheduleCommandArgs } from "../../../src/app/schedules/commands.js";
import { routeWebhook } from "../../../src/app/route-webhook.js";
import { webhook } from "../../support/github/webhooks.js";

describe("schedule commands in comments", () => {
  it("finds /conveyor schedules lines, not quoted or fenced ones", () => {
    const body = ["/conveyor schedules", "> /conveyor schedules pause a", "```", "/conveyor schedules trigger b", "```", "/conveyor schedules backfill nightly 2026-11-01 2026-11-07", "/conveyor status"].join("\n");
    expect(scheduleCommandArgs(body, 1, "/conveyor")).toEqual([[], ["backfill", "nightly", "2026-11-01", "2026-11-07"]]);
    expect(scheduleCommandArgs("/bot Schedules trigger x", 1, "/bot")).toEqual([["trigger", "x"]]);
  });

  it("parses each subcommand and explains a wrong one", () => {
    expect(parseScheduleCommand([])).toEqual({ name: "list" });
    expect(parseScheduleCommand(["TRIGGER", "nightly"])).toEqual({ name: "trigger", id: "nightly" });
    expect(parseScheduleCommand(["pause", "a"])).toEqual({ name: "pause", id: "a" });
    expect(parseScheduleCommand(["resume", "a"])).toEqual({ name: "resume", id: "a" });
    expect(parseScheduleCommand(["backfill", "a", "2026-01-01", "2026-01-02"])).toEqual({ name: "backfill", id: "a", from: "2026-01-01", to: "2026-01-02" });
    expect(parseScheduleCommand(["trigger"])).toEqual({ name: "help", problem: "`schedules trigger` takes one schedule id" });
    expect(parseScheduleCommand(["explode"])).toEqual({ name: "help", problem: "unknown schedules command `explode`" });
  });

  it("are not run commands: a comment with only a schedules command reaches no run", () => {
    expect(isScheduleCommand({ text: "/conveyor schedules pause x" })).toBe(true);
    expect(isScheduleCommand({ text: "/conveyor status" })).toBe(false);
    const delivery = webhook("issue_comment", "created", { comment: { body: "/conveyor schedules trigger nightly" } });
    expect(routeWebhook("issue_comment", delivery.payload, "2026-01-01T00:00:00Z")).toEqual({ status: "ignored", reason: "no command in the comment" });
    const both = webhook("issue_comment", "created", { comment: { body: "/conveyor schedules\n/conveyor status" } });
    const routed = routeWebhook("issue_comment", both.payload, "2026-01-01T00:00:00Z");
    expect(routed.status === "routed" && routed.routed.map((r) => r.event.type === "command.received" && r.event.command.name)).toEqual(["status"]);
  });
});
