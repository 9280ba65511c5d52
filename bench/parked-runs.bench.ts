// Parked runs: Redis bytes per run waiting for approval, with 10,000 of them, against a budget of
// 4 KiB per run. Runs are created through the real store and engine: each run's events from the
// label to CI success are appended (deduplicated by source, as ingress and effect workers do) and
// applied with `engine.apply` (decide → commit with outbox → index → effect and timer jobs), and
// the ledger fields the real executors write are written. The timers queue keeps its delayed jobs
// (approval's one timer, its first reminder; each stage's deadline replaced the last one), because
// they are part of what a parked run holds. What BullMQ keeps of finished effect jobs (1 hour) is
// measured on a separate sample and reported beside the ratio.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Redis } from "ioredis";
import { angleCheckExternalId, LEDGER } from "../src/app/effects/ledger-names.js";
import { ANGLES } from "../src/pipeline/config.js";
import { decide } from "../src/pipeline/decide.js";
import type { Effect } from "../src/pipeline/effects.js";
import type { PipelineEvent } from "../src/pipeline/events.js";
import type { Run } from "../src/pipeline/run.js";
import { createRedis } from "../src/queue/redis.js";
import type { ExecuteEffect } from "../src/queue/workers.js";
import { silent } from "./lib/app-env.js";
import { buildEngine, type BenchEngine } from "./lib/engine.js";
import { describeKey, memoryByGroup, type KeyGroup } from "./lib/key-memory.js";
import { events, prNumberOf, shaOf, subject, workflowRunIdOf, type Subject } from "./lib/pipeline-fixtures.js";
import { usedMemory } from "./lib/redis-stats.js";
import { benchRedis } from "./lib/redis-server.js";
import { round, type BenchResult } from "./lib/result.js";

const RUNS = Number(process.env.BENCH_PARKED_RUNS ?? 10_000);
const REPOS = 100;
/**
 * Apply after every event (as the apply jobs would when events arrive minutes apart), or only
 * before an event that needs a live run and at the end: fewer commits carry the same run,
 * outcomes and effects, so Redis holds the same keys and bytes, several times faster. Both were
 * compared: the log's stream nodes split at other entries (about 3% more log bytes), so the
 * default applies after every event; BENCH_PARKED_APPLY_EACH=0 takes the quicker way.
 */
const APPLY_EACH = process.env.BENCH_PARKED_APPLY_EACH !== "0";
/** Runs being parked at once (each one's events in order). */
const LANES = 128;
const BUDGET_BYTES = 4096;
const DRAIN_TIMEOUT_MS = 90_000;
/** Runs whose effect jobs really run, to measure what finished effect jobs keep (not in the ratio). */
const EFFECT_SAMPLE_RUNS = 300;

/** No GitHub: the effects' results are appended by `parkRun`, as the workers would. */
const noopExecutor: ExecuteEffect = async () => null;

/**
 * The events one run receives from its label to CI success, each with the source the real system
 * dedupes it by: a delivery id for webhooks, the effect id for an effect's result. Sources of
 * results come from `decide` (pure), exactly as the engine names the effects it commits.
 */
async function parkRun(bench: BenchEngine, s: Subject, applyEach: boolean): Promise<void> {
  const { store, engine } = bench;
  let run: Run | null = null;
  let effects: Effect[] = [];
  const resultOf = (kind: Effect["kind"]) => {
    const effect = effects.find((candidate) => candidate.kind === kind);
    if (!effect) throw new Error(`bench parked-runs: no ${kind} effect after ${run?.stage}`);
    return effect.id;
  };
  const step = async (event: PipelineEvent, source: string, requiresRun: boolean) => {
    // engine.submit minus the wake: the apply job it enqueues is removed on completion, and we
    // apply here instead (after each event, or once for all of them: the same commits' content).
    if (!requiresRun) await store.track(s.key, Date.parse(event.at));
    // An event that needs a live run is refused by the append until the run is committed.
    else if (!applyEach) await engine.apply(s.key);
    const appended = await store.append(s.key, event, { source, requiresRun });
    if (appended.status !== "appended") throw new Error(`bench parked-runs: ${event.type} for ${s.key} was ${appended.status}`);
    if (applyEach) await engine.apply(s.key);
    const decision = decide(run, event);
    if (!decision.applied) throw new Error(`bench parked-runs: ${event.type} refused for ${s.key}: ${decision.reason}`);
    run = decision.run;
    effects = decision.effects;
  };
  const sha = shaOf(`${s.key}-0`);
  await step(events.labeled(s), randomUUID(), false);
  await step(events.configLoaded(), resultOf("load-config"), false);
  const dispatchEffect = resultOf("dispatch-implement");
  await step(events.implementDispatched(s, 0), resultOf("dispatch-implement"), false);
  await step(events.implementCompleted(s, `${s.key}-1`, 0), `${randomUUID()}-0`, true);
  await step(events.implementFinished(s, 0), resultOf("inspect-implement"), false);
  await step(events.prOpened(s, 0), resultOf("open-pr"), false);
  await step(events.reviewFinished(0, sha), resultOf("start-review"), false);
  await step(events.ciFinished(sha), resultOf("evaluate-ci"), false);
  if (!applyEach) await engine.apply(s.key);
  // Every ledger field the real executors leave by now (as the happy-path e2e test's run holds
  // them in approval): the status comment, the dispatch and where the branch stood, the Conveyor
  // check run, the round's PR review and its four angle check runs, the open findings (none: a
  // finding's text is the review's content, not a run's overhead) and the head the round read.
  const parkedRun = run as Run | null;
  if (parkedRun) {
    const id = parkedRun.id;
    const n = s.issue.number;
    const fields: [string, string][] = [
      [LEDGER.statusComment(id), String(1_900_000_000 + n)],
      [LEDGER.dispatch(dispatchEffect), String(workflowRunIdOf(s, 0))],
      [LEDGER.branchBase(id, 0), "none"],
      [LEDGER.checkRun(id, sha), String(25_000_000_000 + n)],
      [LEDGER.review(id, 0, sha), String(2_100_000_000 + n)],
      ...ANGLES.map((angle, i): [string, string] => [LEDGER.angleCheck(angleCheckExternalId(id, angle, 0), sha), String(25_000_000_001 + 4 * n + i)]),
      [LEDGER.findings(id), "[]"],
      [LEDGER.reviewedSha(id), sha],
    ];
    for (const [field, value] of fields) await store.ledgerSet(s.key, field, value);
  }
  const parked = run as Run | null;
  if (parked?.stage !== "approval" || parked.state !== "active") throw new Error(`bench parked-runs: ${s.key} ended in ${parked?.stage}/${parked?.state}, not approval/active`);
}

async function parkAll(bench: BenchEngine, subjects: Subject[]): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < subjects.length) await parkRun(bench, subjects[next++]!, APPLY_EACH);
  };
  await Promise.all(Array.from({ length: LANES }, lane));
}

async function drained(bench: BenchEngine): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const counts = await bench.queues.effects.getJobCounts("waiting", "active", "prioritized", "delayed", "failed");
    if ((counts.failed ?? 0) > 0) throw new Error(`bench parked-runs: ${counts.failed} effect jobs failed`);
    if (Object.values(counts).every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`bench parked-runs: effect jobs did not drain in ${DRAIN_TIMEOUT_MS} ms: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function deleteMatching(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}

function classify(key: string): string {
  let match = /^conveyor:\{\d+-\d+\}:(\w+)/.exec(key);
  if (match) return `issue ${match[1]}${match[1] === "seen" ? " (zset, TTL 4 d)" : ""}`;
  match = /^\{conveyor\}:timers:\d+-\d+-\d+_(\w+?)_r\d+_v\d+_set-timer/.exec(key);
  if (match) return match[1] === "approval" ? "timer jobs: approval reminder + expiry" : "timer jobs: earlier deadlines (implement/review/ci)";
  if (/^\{conveyor\}:timers:t[\w-]{12}$/.test(key)) return "timer jobs (the run's armed timers)";
  match = /^\{conveyor\}:(\w+):(\w+)$/.exec(key);
  if (match) return `queue ${match[1]}:${match[2]}`;
  match = /^conveyor:idx:(\w+):/.exec(key);
  if (match) return `index ${match[1]}`;
  if (/^conveyor:repo:/.test(key)) return "repo settings (one per repo)";
  match = /^conveyor:runs:(\w+)$/.exec(key);
  if (match) return `runs:${match[1]} (zset)`;
  return `other (${key})`;
}

export default async function parkedRuns(): Promise<BenchResult> {
  const redis = await benchRedis();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const admin = createRedis(redis.url);
    cleanups.push(() => admin.quit());

    // First, under another prefix: runs whose effect jobs really run (no-ops), to measure the
    // finished effect jobs BullMQ keeps for an hour (removeOnComplete). It also warms up: scripts
    // are cached and code paths compiled. Then every key of it is deleted, so the baseline below
    // already holds Redis's script cache.
    const warm = await buildEngine({ redisUrl: redis.url, prefix: "warmup", log: silent });
    const warmWorkers = warm.startWorkers(noopExecutor, { effects: LANES });
    const effectSubjects = Array.from({ length: EFFECT_SAMPLE_RUNS }, (_, i) => subject(1_000_000 + i, REPOS));
    await parkAll(warm, effectSubjects);
    await drained(warm);
    await warmWorkers.close();
    const withFinishedEffects = await usedMemory(admin);
    const effectRunId = `${effectSubjects[0]!.key}-1`;
    const sampleEffectJobs: Awaited<ReturnType<typeof describeKey>>[] = [];
    for (const key of (await admin.keys(`{warmup}:effects:${effectRunId}_*`)).sort()) sampleEffectJobs.push(await describeKey(admin, key));
    const effectGroups = await memoryByGroup(admin, (key) =>
      /^\{warmup\}:effects:\d+-\d+-\d+_/.test(key) ? "job hashes" : key.startsWith("{warmup}:effects:") ? key.slice("{warmup}:effects:".length) : "not effects",
    );
    await warm.queues.effects.obliterate({ force: true });
    const effectJobs = {
      usedMemoryPerRun: round((withFinishedEffects - (await usedMemory(admin))) / EFFECT_SAMPLE_RUNS, 1),
      ...Object.fromEntries([...effectGroups.values()].filter((g) => g.group !== "not effects").map((g) => [g.group, { keys: g.keys, bytesPerRun: round(g.bytes / EFFECT_SAMPLE_RUNS, 1) }])),
    };
    // Job hashes and the completed set grow with runs; the events stream is capped by BullMQ.
    const effectJobsPerRun = ((effectGroups.get("job hashes")?.bytes ?? 0) + (effectGroups.get("completed")?.bytes ?? 0)) / EFFECT_SAMPLE_RUNS;
    await warm.stop();
    await deleteMatching(admin, "warmup:*");
    await deleteMatching(admin, "{warmup}:*");

    // The measured runs. Their effect jobs are never run (their results are appended by parkRun
    // and the ledger written there), and the effects queue is obliterated before measuring.
    const bench = await buildEngine({ redisUrl: redis.url, log: silent });
    cleanups.push(() => bench.stop());
    await Promise.all([bench.queues.events.waitUntilReady(), bench.queues.effects.waitUntilReady(), bench.queues.timers.waitUntilReady()]);
    const baseline = await usedMemory(admin);

    const subjects = Array.from({ length: RUNS }, (_, i) => subject(i, REPOS));
    const started = performance.now();
    await parkAll(bench, subjects);
    const parkSeconds = (performance.now() - started) / 1000;
    await bench.queues.effects.obliterate({ force: true });
    const parked = await usedMemory(admin);
    const sample = subjects[0]!;

    // Checks: every run parked in approval, its timers delayed, no per-run repeatable job.
    const activeRuns = await admin.zcard("conveyor:runs:active");
    const delayedTimers = await bench.queues.timers.getDelayedCount();
    const schedulers = {
      events: await bench.queues.events.getJobSchedulersCount(),
      effects: await bench.queues.effects.getJobSchedulersCount(),
      timers: await bench.queues.timers.getJobSchedulersCount(),
    };
    const repeatKeys = (await admin.keys("*repeat*")).length + (await admin.keys("*:de:*")).length;
    for (const s of subjects.filter((_, i) => i % Math.max(1, Math.floor(RUNS / 100)) === 0)) {
      const { run } = await bench.store.load(s.key);
      if (run?.stage !== "approval" || run.state !== "active") throw new Error(`bench parked-runs: ${s.key} is ${run?.stage}/${run?.state}`);
    }
    if (activeRuns !== RUNS) throw new Error(`bench parked-runs: ${activeRuns} active runs, expected ${RUNS}`);

    // Where the bytes go: every key, grouped; then one run's own keys.
    const groups = [...(await memoryByGroup(admin, classify)).values()].sort((a, b) => b.bytes - a.bytes);
    const attributed = groups.reduce((sum, group) => sum + group.bytes, 0);
    const delta = parked - baseline;
    const perRun = delta / RUNS;
    const prNumber = prNumberOf(sample);
    const timerJobIds = (await admin.hmget(`conveyor:{${sample.key}}:meta`, "tD", "tR")).filter((id): id is string => id !== null);
    const sampleKeys = [
      ...(await admin.keys(`conveyor:{${sample.key}}:*`)).sort(),
      ...timerJobIds.map((id) => `{conveyor}:timers:${id}`),
      bench.keys.pullRequests(sample.repo.id, prNumber),
      `conveyor:idx:wfrun:${workflowRunIdOf(sample, 0)}`,
    ];
    const sampleRun = [];
    for (const key of sampleKeys) if (await admin.exists(key)) sampleRun.push(await describeKey(admin, key));
    const { run } = await bench.store.load(sample.key);
    const runJson = JSON.stringify(run);
    const runFields = Object.fromEntries(
      Object.entries(run ?? {})
        .map(([field, value]) => [field, JSON.stringify(value).length] as const)
        .sort((a, b) => b[1] - a[1]),
    );
    const logEntries = (await bench.store.history(sample.key)).map((entry) => ({ id: entry.entryId, kind: entry.kind, type: entry.kind === "event" ? entry.event.type : entry.kind === "outcome" ? entry.outcome.type : "unreadable" }));
    const streamEntries = (await admin.xrange(`conveyor:{${sample.key}}:log`, "-", "+")).map(([id, fields]) => {
      const named = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) named.set(fields[i]!, fields[i + 1]!);
      return { id, kind: named.get("kind"), type: named.get("type") ?? (JSON.parse(named.get("outcome") ?? "{}") as { type?: string }).type, fieldBytes: Object.fromEntries([...named].map(([field, value]) => [field, value.length])) };
    });
    const timerJob = timerJobIds.length ? await admin.hgetall(`{conveyor}:timers:${timerJobIds[0]}`) : {};

    const group = (g: KeyGroup) => ({ subject: g.group, keysPerRun: round(g.keys / RUNS, 3), bytesPerRun: round(g.bytes / RUNS, 1), share: `${round((100 * g.bytes) / delta, 1)}%` });
    return {
      benchmark: "parked-runs",
      ratio: round(perRun / BUDGET_BYTES, 3),
      goal: 1,
      better: "lower",
      unit: "× 4 KiB budget",
      rows: [
        { subject: `parked run, total (used_memory Δ ÷ ${RUNS})`, keysPerRun: round(groups.reduce((n, g) => n + g.keys, 0) / RUNS, 2), bytesPerRun: round(perRun, 1), share: "100%" },
        ...groups.map(group),
        { subject: "keyspace/expires dicts + allocator (Δ − Σ MEMORY USAGE)", keysPerRun: 0, bytesPerRun: round((delta - attributed) / RUNS, 1), share: `${round((100 * (delta - attributed)) / delta, 1)}%` },
        { subject: `+ finished effect jobs kept 1 h (not in ratio; ${EFFECT_SAMPLE_RUNS} runs)`, keysPerRun: sampleEffectJobs.length, bytesPerRun: round(effectJobsPerRun, 1), share: "" },
      ],
      details: {
        runs: RUNS,
        repos: REPOS,
        applyAfterEachEvent: APPLY_EACH,
        bytesPerRun: round(perRun, 1),
        budgetBytes: BUDGET_BYTES,
        usedMemory: { baseline, parked, delta },
        bytesPerRunWithFinishedEffectJobs: round(perRun + effectJobsPerRun, 1),
        finishedEffectJobs: effectJobs,
        seconds: { park: round(parkSeconds, 2), runsPerSecond: round(RUNS / parkSeconds, 1) },
        checks: { activeRuns, delayedTimers, delayedTimersPerRun: round(delayedTimers / RUNS, 2), jobSchedulers: schedulers, repeatOrDedupeKeys: repeatKeys },
        groups: groups.map((g) => ({ ...g, bytesPerRun: round(g.bytes / RUNS, 1) })),
        sampleRun: { issueKey: sample.key, keys: sampleRun, totalBytes: sampleRun.reduce((sum, key) => sum + key.bytes, 0) },
        sampleRunJson: { bytes: runJson.length, fields: runFields },
        sampleLog: logEntries,
        sampleStream: streamEntries,
        sampleTimerJob: Object.fromEntries(Object.entries(timerJob).map(([field, value]) => [field, value.length])),
        sampleFinishedEffectJobs: sampleEffectJobs,
        notes: [
          "ratio = (used_memory after − before) ÷ runs ÷ 4096; the effect-job sample ran under another prefix and was deleted before the baseline, so Lua script caches are in both.",
          "Runs parked in approval/active after 8 events (issue.labeled, config.loaded, implement.dispatched, implement.completed, implement.finished, pr.opened, review.finished, ci.finished from evaluate-ci as CI had finished), each appended with its real source and applied through RunStore/Engine. Every further event (a ci.reported per check, a reminder) adds its log entry, outcome and seen mark.",
          `Effect jobs of the measured runs are not run: parkRun appends their results and writes every ledger field the real executors leave by approval (status comment, dispatch, branch base, Conveyor check run, PR review, four angle check runs, open findings — none —, reviewed head: 11); the effects queue is obliterated before measuring. Apply jobs are not enqueued (removed on completion in production). The finished effect jobs BullMQ keeps an hour (removeOnComplete) are measured separately on ${EFFECT_SAMPLE_RUNS} runs whose effect jobs ran as no-ops (used_memory before − after obliterating that effects queue).`,
          "The timers queue keeps the run's armed timers: one per slot (deadline or approval expiry; reminder), and approval arms one at a time. A stage's deadline replaces the last one (the engine removes the replaced job), so a run parked in approval holds one: approval arms the earlier of its next reminder and its expiry, and a reminder arms the next one the same way. Timer jobs carry [issue, stage, round, stageStartedAt] and no options beyond id and delay, so each job hash stays listpack-encoded.",
          "The run's log: applied entries move into a compressed archive string when the run waits (approval, parked, finished); an emptied stream is deleted. The run record is stored compressed while it waits. Seen marks are one sorted set per issue.",
          "Queue event streams (queue *:events) are capped by BullMQ (~10,000 entries), so their bytes per run shrink as runs grow.",
        ],
      },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await redis.stop();
  }
}
