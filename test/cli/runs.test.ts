// `conveyor runs …` as a process against the test Redis: list, show and operator commands.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events, testEngine } from "../support/engine.js";
import { runCli } from "./run-cli.js";

let t: ReturnType<typeof testEngine>;
let env: Record<string, string>;
const KEY = "501-11";
const OTHER = "501-12";

beforeAll(async () => {
  t = testEngine();
  env = { REDIS_URL: t.url, CONVEYOR_PREFIX: t.keys.prefix };
  for (const [key, issue] of [[KEY, 11], [OTHER, 12]] as const) {
    await t.engine.submit(key, events.labeled(issue), { source: `label-${issue}`, requiresRun: false });
    await t.engine.apply(key);
  }
  await t.engine.submit(KEY, events.configLoaded(), { source: "config-11", requiresRun: true });
  await t.engine.apply(KEY);
});
afterAll(async () => {
  await t.close();
});

// Each call starts a Node process (tsx): slow on a loaded machine, so generous timeouts.
describe("conveyor runs", { timeout: 180_000 }, () => {
  it("lists runs as a table and as JSON, filtered by state and repo", async () => {
    const table = await runCli(["runs", "list"], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^RUN\s+REPO\s+ISSUE\s+STAGE\s+ROUND\s+STATE\s+AGE\s+TOKENS/);
    expect(table.stdout).toMatch(/501-11-1\s+acme\/widgets\s+#11\s+implement\s+0\s+active/);
    expect(table.stdout).toMatch(/501-12-1\s+acme\/widgets\s+#12\s+intake\s+0\s+active/);

    const json = await runCli(["runs", "list", "--json", "--repo", "acme/widgets", "--state", "active"], env);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as { id: string; stage: string }[];
    expect(rows.map((row) => row.id).sort()).toEqual(["501-11-1", "501-12-1"]);

    const [otherRepo, paused] = await Promise.all([runCli(["runs", "list", "--json", "--repo", "acme/other"], env), runCli(["runs", "list", "--json", "--state", "paused"], env)]);
    expect(JSON.parse(otherRepo.stdout)).toEqual([]);
    expect(JSON.parse(paused.stdout)).toEqual([]);
  });

  it("pauses, refuses a second pause, resumes and cancels through the engine, with meaningful exit codes", async () => {
    const pause = await runCli(["runs", "pause", "501-11-1"], env);
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toContain("pause by operator ops: active → paused");
    expect((await t.engine.store.load(KEY)).run?.state).toBe("paused");

    const again = await runCli(["runs", "pause", "acme/widgets#11"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("pause refused: the run is paused, not active");

    const retry = await runCli(["runs", "retry", KEY], env);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toContain("retry is for parked or failed runs (use /conveyor resume)");

    const resume = await runCli(["runs", "resume", KEY, "--as", "maria"], env);
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stdout).toContain("resume by operator maria");
    expect((await t.engine.store.load(KEY)).run?.state).toBe("active");

    const cancel = await runCli(["runs", "cancel", KEY, "--json"], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ run: { id: "501-11-1", state: "cancelled" }, outcome: { type: "operator.command", applied: true } });

    const late = await runCli(["runs", "cancel", KEY], env);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain("cancelled");
  });

  it("shows a run and its timeline from the event log", async () => {
    const shown = await runCli(["runs", "show", "501-11-1"], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("run 501-11-1  acme/widgets#11  Add a widget");
    expect(shown.stdout).toContain("timeline:");
    expect(shown.stdout).toMatch(/✓ issue\.labeled → intake\/active/);
    expect(shown.stdout).toMatch(/✓ config\.loaded → implement\/active/);
    expect(shown.stdout).toMatch(/✓ operator\.command → implement\/paused/);
    expect(shown.stdout).toMatch(/✗ operator\.command .*the run is paused, not active/);

    const json = JSON.parse((await runCli(["runs", "show", KEY, "--json"], env)).stdout) as { run: { id: string }; timeline: { type: string; applied: boolean }[] };
    expect(json.run.id).toBe("501-11-1");
    expect(json.timeline.map((item) => item.type)).toEqual(["issue.labeled", "config.loaded", "operator.command", "operator.command", "operator.command", "operator.command", "operator.command"]);
    // The late cancel of a cancelled run is refused before it is logged.
    expect(json.timeline.filter((item) => item.type === "operator.command").map((item) => item.applied)).toEqual([true, false, false, true, true]);
  });

  it("answers a run that does not exist with 1 and bad usage with 2", async () => {
    const [missing, missingIssue, replaced, noRedis] = await Promise.all([
      runCli(["runs", "show", "501-999-1"], env),
      runCli(["runs", "pause", "501-999"], env),
      runCli(["runs", "show", "501-12-7"], env),
      runCli(["runs", "list"], { CONVEYOR_PREFIX: "x" }),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no run 501-999-1");
    expect(missingIssue.code).toBe(1);
    expect(replaced.code).toBe(1);
    expect(replaced.stderr).toContain("replaced by run 501-12-1");
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain("REDIS_URL is not set");

    const usages = [["runs"], ["runs", "frobnicate"], ["runs", "list", "--state", "sleepy"], ["runs", "show"], ["runs", "pause", "not a run"], ["runs", "list", "--bogus"]];
    const results = await Promise.all(usages.map((args) => runCli(args, env)));
    for (const [index, result] of results.entries()) {
      expect(result.code, usages[index]!.join(" ")).toBe(2);
      expect(result.stderr).toContain("Usage: conveyor runs");
    }
  });
});
