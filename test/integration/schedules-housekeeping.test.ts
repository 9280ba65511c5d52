// The app's own schedules: the webhook delivery reconciler (JWT, nock), the clean-up of
// cancelled runs, their registration as job schedulers, and the `conveyor schedules` CLI.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanupRuns } from "../../src/app/schedules/cleanup-runs.js";
import { reconcileDeliveries, nextCursor } from "../../src/app/schedules/reconcile-deliveries.js";
import { schedulesCommand } from "../../src/cli/schedules.js";
import { RepoConfig } from "../../src/pipeline/config.js";
import { registerHousekeeping, ScheduleKeys } from "../../src/queue/schedulers.js";
import { fakeGitHub } from "../support/github/fake-github.js";
import { events, REPO, at, testEngine } from "../support/engine.js";
import { SCHED_REPO, silentLog, syncInput, testProbot, testSchedulers, type TestSchedulers } from "../support/schedules.js";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

describe("the webhook delivery reconciler", () => {
  let t: TestSchedulers;
  beforeEach(() => {
    t = testSchedulers();
  });
  afterEach(async () => {
    await t.close();
  });

  const delivery = (id: number, guid: string, status: number, minutesAgo: number, event = "issues", action: string | null = "labeled") => ({
    id,
    guid,
    delivered_at: ago(minutesAgo),
    redelivery: false,
    duration: 0.1,
    status: status >= 200 && status < 300 ? "OK" : "Invalid HTTP Response: 502",
    status_code: status,
    event,
    action,
    installation_id: 1,
    repository_id: 1,
  });

  it("asks GitHub (as the app, with a JWT) to redeliver only the failed deliveries it has not asked for, bounded per pass", async () => {
    const probot = testProbot();
    const gh = fakeGitHub();
    const page1 = [
      delivery(11, "ok-guid", 200, 5),
      delivery(12, "failed-guid", 502, 10),
      delivery(13, "retried-guid", 200, 12), // a redelivery that worked…
      delivery(14, "retried-guid", 504, 20), // …of a failed delivery: nothing to do
      delivery(15, "timeout-guid", 0, 30, "push", null),
    ];
    const page2 = [delivery(16, "second-page-guid", 500, 40), delivery(17, "too-old-guid", 502, 60 * 30)];
    gh.on("GET /app/hook/deliveries", {}, (request) => {
      expect(String(request.headers.authorization)).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
      return { status: 200, body: page1, headers: { link: '<https://api.github.com/app/hook/deliveries?per_page=100&cursor=abc>; rel="next"' } };
    });
    gh.on("GET /app/hook/deliveries", {}, { status: 200, body: page2 }, { query: { cursor: "abc" } });
    for (const id of [12, 15, 16]) gh.on("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: id }, { status: 202, body: {} });
    const askedKey = t.schedulers.keys.redelivered();

    const first = await reconcileDeliveries(await probot.auth(), t.redis, askedKey, silentLog, { now: () => NOW });
    expect(first).toMatchObject({ listed: 7, failed: 3, alreadyAsked: 0, refused: 0, deferred: 0 });
    expect(first.redelivered.map((d) => [d.id, d.event])).toEqual([
      [16, "issues.labeled"],
      [15, "push"],
      [12, "issues.labeled"],
    ]);

    // The next pass sees the same failures (GitHub lists the failed attempts) and asks for none again;
    // a pass bound leaves the rest for later.
    gh.on("GET /app/hook/deliveries", {}, { status: 200, body: [...page1, delivery(18, "new-failure", 502, 1), delivery(19, "another", 502, 2)] });
    gh.on("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: 19 }, { status: 422, body: { message: "already being redelivered" } });
    const second = await reconcileDeliveries(await probot.auth(), t.redis, askedKey, silentLog, { now: () => NOW, maxRedeliveries: 1 });
    expect(second).toMatchObject({ failed: 4, alreadyAsked: 2, refused: 1, deferred: 1, redelivered: [] });
    gh.on("GET /app/hook/deliveries", {}, { status: 200, body: [delivery(18, "new-failure", 502, 1), delivery(20, "third", 502, 3)] });
    gh.on("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: 20 }, { status: 202, body: {} });
    const third = await reconcileDeliveries(await probot.auth(), t.redis, askedKey, silentLog, { now: () => NOW, maxRedeliveries: 1 });
    expect(third).toMatchObject({ failed: 2, deferred: 1, redelivered: [{ id: 20 }] });
    gh.done();
  });

  it("reads the next page's cursor from the Link header", () => {
    expect(nextCursor('<https://api.github.com/app/hook/deliveries?cursor=v1_123&per_page=100>; rel="next", <https://x?cursor=z>; rel="prev"')).toBe("v1_123");
    expect(nextCursor("")).toBeUndefined();
  });

  it("is registered with the other housekeeping jobs as job schedulers that first run one period later", async () => {
    await registerHousekeeping(t.queue, { reconcileEveryMs: 300_000, cleanupEveryMs: 3_600_000, resyncEveryMs: 0 }, Date.now());
    await registerHousekeeping(t.queue, { reconcileEveryMs: 300_000, cleanupEveryMs: 3_600_000, resyncEveryMs: 0 }, Date.now() + 60_000);
    const schedulers = await t.queue.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every]).sort()).toEqual([
      ["cleanup-runs", 3_600_000],
      ["reconcile-deliveries", 300_000],
    ]);
    const delayed = await t.queue.getJobs(["delayed"]);
    expect(delayed).toHaveLength(2);
    for (const job of delayed) expect(job.opts.delay).toBeGreaterThan(250_000);
  });
});

describe("the clean-up of cancelled runs", () => {
  it("closes the PR with a comment, deletes the branch and removes the label, once, when the repository asks for it", async () => {
    const h = testEngine();
    try {
      const key = `${REPO.id}-7`;
      const config = RepoConfig.parse({ cleanup: { enabled: true, after: "1d" } });
      const submit = async (event: Parameters<typeof h.engine.submit>[1], source: string, requiresRun = true) => {
        await h.engine.submit(key, event, { source, requiresRun });
        await h.engine.apply(key);
      };
      await submit(events.labeled(7), "l", false);
      await submit({ type: "config.loaded", at: at(1), config }, "c");
      await submit({ type: "pr.opened", at: at(2), round: 0, pr: { number: 12, branch: "conveyor/7-add-a-widget", headSha: "abc" } }, "p");
      await submit(events.closed(at(3)), "x");
      const { run } = await h.engine.store.load(key);
      expect(run).toMatchObject({ state: "cancelled", pr: { number: 12 } });

      const probot = testProbot();
      const gh = fakeGitHub().installationToken({ installationId: REPO.installationId });
      const params = { owner: REPO.owner, repo: REPO.name };
      gh.on("GET /repos/{owner}/{repo}/pulls/{pull_number}", { ...params, pull_number: 12 }, { status: 200, body: { number: 12, state: "open", merged: false } });
      gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...params, issue_number: 12 }, { status: 201, body: { id: 5 } });
      gh.on("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", { ...params, pull_number: 12 }, { status: 200, body: { number: 12, state: "closed" } });
      gh.on("DELETE /repos/{owner}/{repo}/git/refs/{ref}", { ...params, ref: "heads/conveyor/7-add-a-widget" }, { status: 204 });
      gh.on("DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", { ...params, issue_number: 7, name: "conveyor" }, { status: 404, body: { message: "Label does not exist" } });

      const cursor = new ScheduleKeys(h.keys.prefix).cleanupCursor();
      const getOctokit = (id: number) => probot.auth(id);
      // Too early: the run stopped less than a day ago.
      expect((await cleanupRuns(h.engine.store, cursor, getOctokit, silentLog, { now: () => Date.parse(at(3)) + 3_600_000 })).cleaned).toEqual([]);
      const later = () => Date.parse(at(3)) + 2 * 86_400_000;
      const pass = await cleanupRuns(h.engine.store, cursor, getOctokit, silentLog, { now: later });
      expect(pass.cleaned).toEqual([{ runId: `${REPO.id}-7-1`, reason: "cancelled", steps: ["closed PR #12", "deleted branch conveyor/7-add-a-widget", "label conveyor already off #7"] }]);
      expect((gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments")[0]!.body as { body: string }).body).toMatch(/Conveyor closes this pull request: its run `501-7-1` was cancelled/);
      expect(gh.calls("PATCH /repos/{owner}/{repo}/pulls/{pull_number}")[0]!.body).toEqual({ state: "closed" });
      // Done once: the next passes leave it alone.
      expect((await cleanupRuns(h.engine.store, cursor, getOctokit, silentLog, { now: later })).cleaned).toEqual([]);
      gh.done();
    } finally {
      await h.close();
    }
  });
});

describe("conveyor schedules (CLI)", () => {
  let t: TestSchedulers;
  const out: string[] = [];
  const err: string[] = [];
  const cli = (...argv: string[]) => schedulesCommand(argv, { out: (line) => out.push(line), err: (line) => err.push(line), env: { REDIS_URL: t.url, CONVEYOR_PREFIX: t.prefix } });
  beforeEach(async () => {
    t = testSchedulers();
    out.length = 0;
    err.length = 0;
    await t.schedulers.sync(SCHED_REPO, syncInput([{ id: "nightly", cron: "0 3 * * *", timezone: "Asia/Tokyo", openIssue: { title: "n" } }], "b".repeat(40)));
  });
  afterEach(async () => {
    await t.close();
  });

  it("lists, pauses, resumes, triggers and backfills, against the same Redis as the app", async () => {
    expect(await cli("list")).toBe(0);
    expect(out[0]).toBe(`acme/widgets (config ${"b".repeat(12)})`);
    expect(out[1]).toMatch(/^ {2}nightly +active +next \d{4}-\d{2}-\d{2} 03:00 GMT\+9 +cron 0 3 \* \* \* \(Asia\/Tokyo\); last: never$/);

    expect(await cli("pause", "acme/widgets", "nightly")).toBe(0);
    expect(await t.queue.getJobScheduler("s-501-nightly")).toBeUndefined();
    expect(await cli("resume", "ACME/Widgets", "nightly")).toBe(0);
    expect(out.at(-1)).toMatch(/^resumed nightly; next fire \d{4}-\d{2}-\d{2} 03:00 GMT\+9$/);
    expect(await t.queue.getJobScheduler("s-501-nightly")).toBeDefined();

    expect(await cli("trigger", "acme/widgets", "nightly")).toBe(0);
    expect(await cli("backfill", "acme/widgets", "nightly", "2026-11-01", "2026-11-03")).toBe(0);
    expect(out.at(-1)).toBe("backfilling nightly: 3 due times (2026-11-01 03:00 GMT+9, 2026-11-02 03:00 GMT+9, 2026-11-03 03:00 GMT+9)");
    const fires = (await t.queue.getJobs(["waiting"])).filter((job) => job.data.kind === "fire").map((job) => (job.data as { reason: string }).reason);
    expect(fires.sort()).toEqual(["backfill", "backfill", "backfill", "trigger"]);

    expect(await cli("history", "acme/widgets", "nightly")).toBe(0);
    expect(out.slice(-3).map((line) => /fired \S+ +(\w+) +(\w+) +(\w+)/.exec(line)!.slice(1).join(" "))).toEqual(["resumed operator bbbbbbb", "paused operator bbbbbbb", "registered operator bbbbbbb"]);
  });

  it("explains what is wrong: an unknown repository or schedule, bad arguments, bad times", async () => {
    expect(await cli("pause", "acme/other", "nightly")).toBe(1);
    expect(err.at(-1)).toMatch(/no schedules are known for acme\/other/);
    expect(await cli("trigger", "acme/widgets", "weekly")).toBe(1);
    expect(err.at(-1)).toBe('conveyor schedules: no schedule "weekly" is registered for this repository');
    expect(await cli("backfill", "acme/widgets", "nightly", "soon", "later")).toBe(2);
    expect(await cli("explode")).toBe(2);
    expect(err.at(-1)).toMatch(/unknown command "explode"/);
    expect(await cli("pause", "acme/widgets")).toBe(2);
  });
});
