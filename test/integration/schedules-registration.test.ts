// Registering schedules as BullMQ job schedulers on a real Redis: idempotent across restarts and
// instances, versioned by the config's commit, with removed schedules removed and invalid ones
// reported while the others register.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RetryLaterError } from "../../src/queue/failures.js";
import { schedulerIdOf } from "../../src/queue/schedulers.js";
import { SCHED_REPO, syncInput, testSchedulers, type TestSchedulers } from "../support/schedules.js";

const V1 = "1".repeat(40);
const V2 = "2".repeat(40);

const weekly = { id: "weekly-deps", cron: "0 9 * * 1", timezone: "Europe/Berlin", openIssue: { title: "Dependency review {{date}}" } };
const triage = { id: "triage", every: "6h", labelIssues: { query: "no:label", limit: 5 } };
const digest = { id: "digest", cron: "30 7 * * *", timezone: "America/New_York", jitter: "10m", openIssue: { title: "Digest" } };

let t: TestSchedulers;
beforeEach(() => {
  t = testSchedulers();
});
afterEach(async () => {
  await t.close();
});

async function delayedTicks() {
  const jobs = await t.queue.getJobs(["delayed"]);
  return jobs.map((job) => job.id!).sort();
}

async function syncRetrying(schedulers: TestSchedulers["schedulers"], input: ReturnType<typeof syncInput>) {
  for (;;) {
    try {
      return await schedulers.sync(SCHED_REPO, input);
    } catch (error) {
      if (!(error instanceof RetryLaterError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe("registering schedules", () => {
  it("makes one job scheduler with one delayed tick per schedule, whatever the number of instances and restarts", async () => {
    const input = syncInput([weekly, triage, digest], V1);
    const first = await t.schedulers.sync(SCHED_REPO, input);
    expect(first.registered.sort()).toEqual(["digest", "triage", "weekly-deps"]);

    const schedulers = await t.queue.getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual(["s-501-digest", "s-501-triage", "s-501-weekly-deps"]);
    expect(schedulers.find((s) => s.key === "s-501-weekly-deps")).toMatchObject({ pattern: "0 9 * * 1", tz: "Europe/Berlin" });
    expect(schedulers.find((s) => s.key === "s-501-triage")).toMatchObject({ every: 6 * 3_600_000 });
    const ticks = await delayedTicks();
    expect(ticks).toHaveLength(3);

    // A second instance syncing the same config, twice at once with the first: nothing changes.
    const other = t.another();
    const reports = await Promise.all([syncRetrying(t.schedulers, input), syncRetrying(other, input), syncRetrying(other, input)]);
    for (const report of reports) expect(report.unchanged.sort()).toEqual(["digest", "triage", "weekly-deps"]);
    expect((await t.queue.getJobSchedulers()).map((s) => s.key).sort()).toEqual(["s-501-digest", "s-501-triage", "s-501-weekly-deps"]);
    expect(await delayedTicks()).toEqual(ticks);

    // A restart: the start-up repair finds every scheduler in place and touches none.
    const restarted = t.another();
    expect(await restarted.repair()).toEqual({ checked: 3, restored: 0 });
    expect(await delayedTicks()).toEqual(ticks);

    // Redis lost BullMQ's scheduler (or a crash hit between registry and scheduler): repair restores it.
    await t.queue.removeJobScheduler(schedulerIdOf(SCHED_REPO.id, "triage"));
    expect(await restarted.repair()).toEqual({ checked: 3, restored: 1 });
    expect(await delayedTicks()).toHaveLength(3);
  });

  it("records the config commit as the version, updates changed schedules and removes removed ones", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([weekly, triage, digest], V1));
    const changed = { ...weekly, cron: "0 10 * * 1" };
    const retitled = { ...digest, openIssue: { title: "Daily digest" } };
    const report = await t.schedulers.sync(SCHED_REPO, syncInput([changed, retitled], V2));
    expect(report).toMatchObject({ version: V2, registered: [], updated: ["weekly-deps", "digest"], removed: ["triage"], unchanged: [] });

    const listing = await t.schedulers.list(SCHED_REPO.id);
    expect(listing.version).toBe(V2);
    expect(listing.schedules.map((s) => [s.spec.id, s.version])).toEqual([
      ["digest", V2],
      ["weekly-deps", V2],
    ]);
    const keys = (await t.queue.getJobSchedulers()).map((s) => s.key).sort();
    expect(keys).toEqual(["s-501-digest", "s-501-weekly-deps"]);
    expect(await t.queue.getJobScheduler("s-501-weekly-deps")).toMatchObject({ pattern: "0 10 * * 1" });
    expect(await delayedTicks()).toHaveLength(2);
    // The next fire time, in the schedule's own time zone.
    const next = listing.schedules.find((s) => s.spec.id === "weekly-deps")!.next!;
    expect(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", weekday: "short", hour: "2-digit", minute: "2-digit" }).format(next)).toBe("Mon 10:00");

    const history = await t.schedulers.history(SCHED_REPO.id, "triage");
    expect(history[0]).toMatchObject({ outcome: "removed", version: V2 });
  });

  it("registers the valid schedules when others are invalid, keeps an invalid one on its last valid definition, and skips disabled ones", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([weekly, triage], V1));
    const raw = [
      { ...weekly, timezone: "Europe/Atlantis" },
      { id: "bad-cron", cron: "61 * * * *", openIssue: { title: "x" } },
      { id: "dup", every: "1h", openIssue: { title: "a" } },
      { id: "dup", every: "2h", openIssue: { title: "b" } },
      { id: "fast", every: "10s", openIssue: { title: "x" } },
      { ...digest, enabled: false },
      triage,
      { id: "new", every: "1d", openIssue: { title: "n" } },
    ];
    const report = await t.schedulers.sync(SCHED_REPO, syncInput(raw, V2, 60_000));
    expect(report.registered).toEqual(["new"]);
    expect(report.unchanged).toEqual(["triage"]);
    expect(report.kept).toEqual(["weekly-deps"]);
    expect(report.disabled).toEqual(["digest"]);
    expect(report.problems.map((p) => p.id)).toEqual(["weekly-deps", "bad-cron", "dup", "dup", "fast"]);

    const keys = (await t.queue.getJobSchedulers()).map((s) => s.key).sort();
    expect(keys).toEqual(["s-501-new", "s-501-triage", "s-501-weekly-deps"]);
    const listing = await t.schedulers.list(SCHED_REPO.id);
    expect(listing.schedules.find((s) => s.spec.id === "weekly-deps")).toMatchObject({ version: V1, status: "active" });
    expect(listing.schedules.find((s) => s.spec.id === "digest")).toMatchObject({ status: "disabled", next: null });
    expect(listing.problems).toHaveLength(5);
  });

  it("keeps every schedule when the config cannot be read at all, and removes them all when the app is uninstalled", async () => {
    await t.schedulers.sync(SCHED_REPO, syncInput([weekly, triage], V1));
    const unreadable = await t.schedulers.sync(SCHED_REPO, { version: V2, label: "conveyor", schedules: [], problems: [{ id: null, index: null, messages: ["bad YAML"] }], unreadable: true });
    expect(unreadable.kept.sort()).toEqual(["triage", "weekly-deps"]);
    expect(await t.queue.getJobSchedulersCount()).toBe(2);

    expect((await t.schedulers.removeRepo(SCHED_REPO.id)).sort()).toEqual(["triage", "weekly-deps"]);
    expect(await t.queue.getJobSchedulersCount()).toBe(0);
    expect(await t.queue.getDelayedCount()).toBe(0);
    expect(await t.schedulers.repositories()).toEqual([]);
  });
});
