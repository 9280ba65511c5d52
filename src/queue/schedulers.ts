import { DelayedError, Queue, Worker, type ConnectionOptions, type Job, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { RepoRef } from "../pipeline/run.js";
import { firingSummary, type FiringLogEntry, type FiringReason, type PreviousFiring } from "../schedules/firing.js";
import { busyTasks, decideOverlap, planTick, DEFAULT_GRACE_MS } from "../schedules/policy.js";
import { misfireOf, scheduleDurationMs, type Schedule, type ScheduleProblem } from "../schedules/schema.js";
import { dueTimesBetween, firingKey, jitterFor, nextFireTimes, repeatOptionsOf } from "../schedules/timing.js";
import { RetryLaterError } from "./failures.js";

// Schedules on BullMQ job schedulers. Each repository schedule is one job scheduler whose jobs
// are "ticks"; a tick applies the misfire policy and enqueues "fire" jobs whose id is the firing
// key, and a fire job runs the firing's action once (a done-mark in Redis, written with the log
// entry, makes every repetition a no-op). GitHub work is injected (src/app/schedules/).

export const SCHEDULES_QUEUE = "schedules";

/** Repository schedules' job scheduler ids: `s-<repoId>-<scheduleId>`. */
export function schedulerIdOf(repoId: number, scheduleId: string): string {
  return `s-${repoId}-${scheduleId}`;
}

export type ScheduleJobData =
  | { kind: "tick"; repoId: number; scheduleId: string }
  | { kind: "fire"; repoId: number; scheduleId: string; scheduledFor: number; reason: FiringReason; by?: string }
  | { kind: "sync"; repo: RepoRef; reason: string; defaultBranch?: string }
  | { kind: "remove-repo"; repoId: number; reason: string }
  | { kind: "command"; repo: RepoRef; issue: number; commentId: number; login: string; createdAt: string; commands: string[][] }
  | { kind: "resync-all"; only?: string }
  | { kind: "reconcile-deliveries" }
  | { kind: "cleanup-runs" };

export type ScheduleQueue = Queue<ScheduleJobData>;

export const SCHEDULE_JOB_OPTIONS = {
  tick: { attempts: 3, backoff: { type: "exponential", delay: 1_000 }, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } },
  // Kept for the dedupe window: adding the same firing again while it is kept is a no-op.
  fire: { attempts: 5, backoff: { type: "exponential", delay: 2_000, jitter: 0.5 }, removeOnComplete: { age: 4 * 86_400 }, removeOnFail: { age: 14 * 86_400 } },
  work: { attempts: 5, backoff: { type: "exponential", delay: 2_000, jitter: 0.5 }, removeOnComplete: { age: 4 * 86_400 }, removeOnFail: { age: 14 * 86_400 } },
} satisfies Record<string, JobsOptions>;

export function createScheduleQueue(connection: ConnectionOptions, prefix: string): ScheduleQueue {
  return new Queue<ScheduleJobData>(SCHEDULES_QUEUE, { connection, prefix, defaultJobOptions: SCHEDULE_JOB_OPTIONS.work });
}

/** Redis keys of schedules. One repository's keys share the hash tag `{sched-<repoId>}`. */
export class ScheduleKeys {
  constructor(readonly prefix: string) {}
  /** Hash: owner, name, installationId, version, label, syncedAt, problems (JSON). */
  repo(repoId: number) { return `${this.prefix}:{sched-${repoId}}:repo`; }
  /** Hash: schedule id → RegisteredSchedule JSON. */
  registry(repoId: number) { return `${this.prefix}:{sched-${repoId}}:registry`; }
  /** Hash: paused, resumedAt, lastDue, lastFiring, lastScheduledFor, lastFiredAt, lastOutcome, lastTasks, buffered. */
  state(repoId: number, scheduleId: string) { return `${this.prefix}:{sched-${repoId}}:state:${scheduleId}`; }
  /** Hash with TTL: one firing's status (done, failed), outcome, tasks and its action's ledger. */
  firing(repoId: number, key: string) { return `${this.prefix}:{sched-${repoId}}:firing:${key}`; }
  /** List: the schedule's firing log, newest first, capped (a list: a stream costs ~4.7 KB even for one entry). */
  log(repoId: number, scheduleId: string) { return `${this.prefix}:{sched-${repoId}}:log:${scheduleId}`; }
  /** String with TTL: a short exclusive claim (a firing, a sync). */
  claim(repoId: number, name: string) { return `${this.prefix}:{sched-${repoId}}:claim:${name}`; }
  /** Hash: repoId → owner/name, for every repository with schedules or schedule problems. */
  repos() { return `${this.prefix}:sched:repos`; }
  /** Hash: lower-case owner/name → repoId. */
  names() { return `${this.prefix}:sched:names`; }
  /** Sorted set: webhook delivery guids the reconciler asked GitHub to redeliver, scored by when (ms). */
  redelivered() { return `${this.prefix}:sched:redelivered`; }
  /** String: where the clean-up pass stopped in the runs index. */
  cleanupCursor() { return `${this.prefix}:sched:cleanup-cursor`; }
}

/** A schedule as registered: its definition, the config commit it came from, since when. */
export interface RegisteredSchedule {
  spec: Schedule;
  version: string;
  registeredAt: number;
}

export interface ScheduleListing extends RegisteredSchedule {
  status: "active" | "paused" | "disabled";
  /** The next due time BullMQ holds a job for (or, for paused/disabled ones, would). */
  next: number | null;
  last: { scheduledFor: number; firedAt: number; outcome: string; tasks: number[] } | null;
  buffered: string | null;
}

export interface RepoSchedules {
  repo: { id: number; owner: string; name: string; installationId: number } | null;
  version: string | null;
  label: string | null;
  syncedAt: number | null;
  problems: ScheduleProblem[];
  schedules: ScheduleListing[];
}

export interface SyncInput {
  /** Commit sha of the config the schedules come from. */
  version: string;
  /** The repository's trigger label (config `label`). */
  label: string;
  schedules: Schedule[];
  problems: ScheduleProblem[];
  /**
   * The whole config could not be read (bad YAML): keep every registered schedule as it is
   * instead of treating the section as empty.
   */
  unreadable?: boolean;
}

export interface SyncReport {
  version: string;
  registered: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
  disabled: string[];
  paused: string[];
  /** Invalid now, still running their last valid definition. */
  kept: string[];
  problems: ScheduleProblem[];
}

export interface SpawnedTask {
  issue: number;
  /** Opened by this firing (true) or an existing issue labelled (false). */
  opened: boolean;
}

/** What a firing's action may remember between attempts (backed by the firing's Redis hash). */
export interface FiringLedger {
  get(field: string): Promise<string | null>;
  set(field: string, value: string): Promise<void>;
}

export interface FiringContext {
  repo: RepoRef;
  schedule: Schedule;
  version: string;
  label: string;
  key: string;
  scheduledFor: number;
  firedAt: number;
  reason: FiringReason;
  /** The context summary for `{{summary}}`. */
  summary: string;
  attempt: number;
}

/** Carries out a firing's action on GitHub; must be idempotent for one firing key (use the ledger). */
export type SpawnTasks = (firing: FiringContext, ledger: FiringLedger) => Promise<SpawnedTask[]>;

/** The state of the run of an issue of the repository (null: no run). */
export type RunStateOf = (repoId: number, issue: number) => Promise<string | null>;

export interface FireData {
  repoId: number;
  scheduleId: string;
  scheduledFor: number;
  reason: FiringReason;
  by?: string;
}

export class ScheduleNotFoundError extends Error {
  override name = "ScheduleNotFoundError";
}

export interface SchedulersOptions {
  redis: Redis;
  queue: ScheduleQueue;
  keys: ScheduleKeys;
  log: Logger;
  /** The clock (ms); tests inject one to jump time without sleeping. */
  clock?: () => number;
  /** A tick later than this after its due time is a misfire. */
  graceMs?: number;
  /** How long a buffered firing waits before it looks again whether the previous tasks finished. */
  bufferPollMs?: number;
  /** Run states that count as finished (for overlap). */
  terminalStates?: readonly string[];
  /** Fire job options (tests shorten the backoff). */
  fireJobOptions?: JobsOptions;
  /** Told of every firing that ended (metrics: how late it ran after its due time). */
  onFiring?: (firing: { scheduleId: string; outcome: string; reason: FiringLogEntry["reason"]; scheduledFor: number; firedAt: number }) => void;
}

const LOG_MAXLEN = 100;
const FIRING_TTL_SECONDS = 30 * 86_400;
const CLAIM_MS = 120_000;
export const MAX_BACKFILL = 50;

// Releases a claim only if we still hold it.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// Moves lastDue forward only.
const ADVANCE = `local current = tonumber(redis.call('HGET', KEYS[1], 'lastDue') or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'lastDue', ARGV[1]) end return 1`;

/**
 * Registering, firing and operating schedules. Safe with any number of instances: the job
 * scheduler makes one tick per due time, fire jobs carry the firing key as id, and the firing's
 * done-mark is checked under a claim before the action runs.
 */
export class Schedulers {
  readonly redis: Redis;
  readonly queue: ScheduleQueue;
  readonly keys: ScheduleKeys;
  readonly log: Logger;
  readonly clock: () => number;
  private readonly graceMs: number;
  private readonly bufferPollMs: number;
  private readonly terminal: readonly string[];
  private readonly fireJobOptions: JobsOptions;
  private readonly onFiring: SchedulersOptions["onFiring"];

  constructor(options: SchedulersOptions) {
    this.redis = options.redis;
    this.queue = options.queue;
    this.keys = options.keys;
    this.log = options.log;
    this.clock = options.clock ?? Date.now;
    this.onFiring = options.onFiring;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.bufferPollMs = options.bufferPollMs ?? 30_000;
    this.terminal = options.terminalStates ?? ["done", "cancelled", "failed"];
    this.fireJobOptions = { ...SCHEDULE_JOB_OPTIONS.fire, ...options.fireJobOptions };
  }

  // ---- registration ------------------------------------------------------------------------

  /**
   * Makes the repository's job schedulers match its config: new and changed schedules are
   * upserted, unchanged ones left alone (an overdue tick stays for the misfire policy), removed
   * ones removed. A schedule that is invalid now keeps its last valid definition, and says so.
   */
  async sync(repo: RepoRef, input: SyncInput): Promise<SyncReport> {
    const holder = `${process.pid}-${Math.random()}`;
    if (!(await this.claim(repo.id, "sync", holder, 60_000))) throw new RetryLaterError(`schedules: another sync of repository ${repo.id} is running`);
    try {
      return await this.syncClaimed(repo, input);
    } finally {
      await this.release(repo.id, "sync", holder);
    }
  }

  private async syncClaimed(repo: RepoRef, input: SyncInput): Promise<SyncReport> {
    const now = this.clock();
    const existing = await this.registered(repo.id);
    const report: SyncReport = { version: input.version, registered: [], updated: [], unchanged: [], removed: [], disabled: [], paused: [], kept: [], problems: input.problems };
    for (const spec of input.schedules) {
      const previous = existing.get(spec.id);
      const entry: RegisteredSchedule = { spec, version: input.version, registeredAt: previous?.registeredAt ?? now };
      await this.redis.hset(this.keys.registry(repo.id), spec.id, JSON.stringify(entry));
      const paused = (await this.redis.hget(this.keys.state(repo.id, spec.id), "paused")) === "1";
      if (!spec.enabled || paused) {
        await this.queue.removeJobScheduler(schedulerIdOf(repo.id, spec.id));
        (paused ? report.paused : report.disabled).push(spec.id);
        continue;
      }
      const rescheduled = await this.ensureScheduler(repo.id, spec, now, previous?.spec);
      if (!previous) report.registered.push(spec.id);
      else if (rescheduled || JSON.stringify(previous.spec) !== JSON.stringify(spec)) report.updated.push(spec.id);
      else report.unchanged.push(spec.id);
      if (!previous) {
        // A schedule added again keeps the log it had (which was set to expire when it was removed).
        await this.redis.persist(this.keys.log(repo.id, spec.id));
        await this.appendLog(repo.id, spec.id, { scheduledFor: now, firedAt: now, version: input.version, reason: "operator", outcome: "registered", tasks: [], detail: describeTiming(spec) });
      }
    }
    const named = new Set(input.schedules.map((spec) => spec.id));
    const invalid = new Set(input.problems.map((problem) => problem.id).filter((id): id is string => id !== null));
    for (const [id, previous] of existing) {
      if (named.has(id)) continue;
      if (invalid.has(id) || input.unreadable) {
        report.kept.push(id);
        continue;
      }
      await this.queue.removeJobScheduler(schedulerIdOf(repo.id, id));
      await this.redis.hdel(this.keys.registry(repo.id), id);
      await this.redis.del(this.keys.state(repo.id, id));
      await this.appendLog(repo.id, id, { scheduledFor: now, firedAt: now, version: input.version, reason: "operator", outcome: "removed", tasks: [], detail: `no longer in the config (was ${previous.version.slice(0, 12)})` });
      await this.redis.expire(this.keys.log(repo.id, id), FIRING_TTL_SECONDS);
      report.removed.push(id);
    }
    const multi = this.redis.multi();
    multi.hset(this.keys.repo(repo.id), "owner", repo.owner, "name", repo.name, "installationId", String(repo.installationId), "version", input.version, "label", input.label, "syncedAt", String(now), "problems", JSON.stringify(input.problems));
    multi.hset(this.keys.repos(), String(repo.id), `${repo.owner}/${repo.name}`);
    multi.hset(this.keys.names(), `${repo.owner}/${repo.name}`.toLowerCase(), String(repo.id));
    await multi.exec();
    return report;
  }

  /** Upserts the job scheduler unless it exists with the same timing; true when it was (re)written. */
  private async ensureScheduler(repoId: number, spec: Schedule, now: number, previous?: Schedule): Promise<boolean> {
    const id = schedulerIdOf(repoId, spec.id);
    const current = await this.queue.getJobScheduler(id);
    if (current && previous && sameTiming(previous, spec) && matchesScheduler(current, spec)) return false;
    await this.queue.upsertJobScheduler(id, repeatOptionsOf(spec, now), { name: "tick", data: { kind: "tick", repoId, scheduleId: spec.id }, opts: SCHEDULE_JOB_OPTIONS.tick });
    return true;
  }

  /**
   * At start-up: every registered, enabled, unpaused schedule has its job scheduler (Redis may
   * have lost BullMQ's keys, or a crash hit between registry and scheduler). Existing schedulers
   * are left alone, so ticks that came due while no worker ran still reach the misfire policy.
   */
  async repair(): Promise<{ checked: number; restored: number }> {
    let checked = 0;
    let restored = 0;
    const now = this.clock();
    for (const repoId of Object.keys(await this.redis.hgetall(this.keys.repos())).map(Number)) {
      for (const [id, entry] of await this.registered(repoId)) {
        checked++;
        if (!entry.spec.enabled || (await this.redis.hget(this.keys.state(repoId, id), "paused")) === "1") continue;
        if (await this.queue.getJobScheduler(schedulerIdOf(repoId, id))) continue;
        await this.queue.upsertJobScheduler(schedulerIdOf(repoId, id), repeatOptionsOf(entry.spec, now), { name: "tick", data: { kind: "tick", repoId, scheduleId: id }, opts: SCHEDULE_JOB_OPTIONS.tick });
        restored++;
      }
    }
    return { checked, restored };
  }

  /** The app was uninstalled from the repository: every schedule goes. */
  async removeRepo(repoId: number): Promise<string[]> {
    const removed: string[] = [];
    for (const id of (await this.registered(repoId)).keys()) {
      await this.queue.removeJobScheduler(schedulerIdOf(repoId, id));
      await this.redis.del(this.keys.state(repoId, id), this.keys.log(repoId, id));
      removed.push(id);
    }
    const name = await this.redis.hget(this.keys.repos(), String(repoId));
    const multi = this.redis.multi().del(this.keys.registry(repoId), this.keys.repo(repoId)).hdel(this.keys.repos(), String(repoId));
    if (name) multi.hdel(this.keys.names(), name.toLowerCase());
    await multi.exec();
    return removed;
  }

  // ---- reading -----------------------------------------------------------------------------

  async registered(repoId: number): Promise<Map<string, RegisteredSchedule>> {
    const all = await this.redis.hgetall(this.keys.registry(repoId));
    return new Map(Object.entries(all).map(([id, json]) => [id, JSON.parse(json) as RegisteredSchedule]));
  }

  async repoIdOf(fullName: string): Promise<number | null> {
    const id = await this.redis.hget(this.keys.names(), fullName.toLowerCase());
    return id ? Number(id) : null;
  }

  async repositories(): Promise<{ id: number; fullName: string }[]> {
    const all = await this.redis.hgetall(this.keys.repos());
    return Object.entries(all)
      .map(([id, fullName]) => ({ id: Number(id), fullName }))
      .sort((a, b) => a.fullName.localeCompare(b.fullName));
  }

  async list(repoId: number): Promise<RepoSchedules> {
    const meta = await this.redis.hgetall(this.keys.repo(repoId));
    const now = this.clock();
    const schedules: ScheduleListing[] = [];
    for (const [id, entry] of await this.registered(repoId)) {
      const state = await this.redis.hgetall(this.keys.state(repoId, id));
      const scheduler = await this.queue.getJobScheduler(schedulerIdOf(repoId, id));
      const status = state.paused === "1" ? "paused" : entry.spec.enabled ? "active" : "disabled";
      const next = status === "active" ? (scheduler?.next ?? nextFireTimes(entry.spec, now)[0] ?? null) : null;
      const last = state.lastFiredAt
        ? { scheduledFor: Number(state.lastScheduledFor), firedAt: Number(state.lastFiredAt), outcome: state.lastOutcome ?? "fired", tasks: JSON.parse(state.lastTasks ?? "[]").map((t: { issue: number }) => t.issue) }
        : null;
      schedules.push({ ...entry, status, next, last, buffered: state.buffered ?? null });
    }
    schedules.sort((a, b) => a.spec.id.localeCompare(b.spec.id));
    return {
      repo: meta.owner ? { id: repoId, owner: meta.owner, name: meta.name!, installationId: Number(meta.installationId) } : null,
      version: meta.version ?? null,
      label: meta.label ?? null,
      syncedAt: meta.syncedAt ? Number(meta.syncedAt) : null,
      problems: meta.problems ? (JSON.parse(meta.problems) as ScheduleProblem[]) : [],
      schedules,
    };
  }

  /** The schedule's firing log, newest first. */
  async history(repoId: number, scheduleId: string, count = 20): Promise<FiringLogEntry[]> {
    const entries = await this.redis.lrange(this.keys.log(repoId, scheduleId), 0, count - 1);
    return entries.map((json) => {
      const e = JSON.parse(json) as { s: number; f: number; v: string; r: FiringLogEntry["reason"]; o: string; t: number[]; d: string };
      return { scheduleId, scheduledFor: e.s, firedAt: e.f, version: e.v, reason: e.r, outcome: e.o, tasks: e.t, detail: e.d };
    });
  }

  // ---- operating ---------------------------------------------------------------------------

  private async entryOf(repoId: number, scheduleId: string): Promise<RegisteredSchedule> {
    const json = await this.redis.hget(this.keys.registry(repoId), scheduleId);
    if (!json) throw new ScheduleNotFoundError(`no schedule "${scheduleId}" is registered for this repository`);
    return JSON.parse(json) as RegisteredSchedule;
  }

  /** Stops firing until resumed: the job scheduler goes, the registration stays. */
  async pause(repoId: number, scheduleId: string, by: string): Promise<{ changed: boolean }> {
    const entry = await this.entryOf(repoId, scheduleId);
    const now = this.clock();
    const was = await this.redis.hget(this.keys.state(repoId, scheduleId), "paused");
    await this.redis.hset(this.keys.state(repoId, scheduleId), "paused", "1", "pausedBy", by, "pausedAt", String(now));
    await this.queue.removeJobScheduler(schedulerIdOf(repoId, scheduleId));
    if (was !== "1") await this.appendLog(repoId, scheduleId, { scheduledFor: now, firedAt: now, version: entry.version, reason: "operator", outcome: "paused", tasks: [], detail: `by ${by}` });
    return { changed: was !== "1" };
  }

  /** Fires again from the next due time; what came due while paused is not caught up. */
  async resume(repoId: number, scheduleId: string, by: string): Promise<{ changed: boolean; next: number | null }> {
    const entry = await this.entryOf(repoId, scheduleId);
    const now = this.clock();
    const state = this.keys.state(repoId, scheduleId);
    const was = await this.redis.hget(state, "paused");
    if (was === "1") {
      await this.redis.multi().hdel(state, "paused", "pausedBy", "pausedAt").hset(state, "resumedAt", String(now)).exec();
      await this.redis.eval(ADVANCE, 1, state, String(now));
      await this.appendLog(repoId, scheduleId, { scheduledFor: now, firedAt: now, version: entry.version, reason: "operator", outcome: "resumed", tasks: [], detail: `by ${by}` });
    }
    if (entry.spec.enabled) await this.ensureScheduler(repoId, entry.spec, now);
    const scheduler = entry.spec.enabled ? await this.queue.getJobScheduler(schedulerIdOf(repoId, scheduleId)) : undefined;
    return { changed: was === "1", next: scheduler?.next ?? null };
  }

  /**
   * Fires now, whatever the schedule says (also when paused or disabled, and regardless of the
   * overlap policy: a human asked). `at` is the firing's time: a command passes its comment's
   * time, so a redelivered command fires once.
   */
  async trigger(repoId: number, scheduleId: string, options: { at?: number; by: string }): Promise<string> {
    await this.entryOf(repoId, scheduleId);
    const at = options.at ?? this.clock();
    return this.enqueueFire(repoId, scheduleId, at, "trigger", 0, options.by);
  }

  /** Fires every due time in [from, to] that has not fired yet (at most MAX_BACKFILL). */
  async backfill(repoId: number, scheduleId: string, from: number, to: number, by: string): Promise<{ keys: string[]; due: number[] }> {
    const entry = await this.entryOf(repoId, scheduleId);
    if (!(to >= from)) throw new RangeError("backfill: <to> must not be before <from>");
    const { times, truncated } = dueTimesBetween(entry.spec, from - 1, to, MAX_BACKFILL);
    if (truncated > 0) throw new RangeError(`backfill: ${times.length + truncated} due times in that range; backfill at most ${MAX_BACKFILL} at once`);
    const keys: string[] = [];
    for (const time of times) keys.push(await this.enqueueFire(repoId, scheduleId, time, "backfill", 0, by));
    return { keys, due: times };
  }

  private async enqueueFire(repoId: number, scheduleId: string, scheduledFor: number, reason: FiringReason, delay: number, by?: string): Promise<string> {
    const key = firingKey(repoId, scheduleId, scheduledFor);
    await this.queue.add("fire", { kind: "fire", repoId, scheduleId, scheduledFor, reason, ...(by ? { by } : {}) }, { ...this.fireJobOptions, jobId: `fire-${key}`, delay: Math.max(0, Math.round(delay)) });
    return key;
  }

  // ---- firing ------------------------------------------------------------------------------

  /**
   * A scheduler's tick for the due time `scheduledFor`: decides with the misfire policy which
   * due times fire, enqueues them (with their jitter), logs the missed ones.
   */
  async tick(
    repoId: number,
    scheduleId: string,
    scheduledFor: number,
    /**
     * Runs a single firing that is due now right here, saving a queue hop; when it fails (or the
     * overlap policy makes it wait) the firing becomes a fire job, which owns the retries.
     */
    inline?: (data: FireData) => Promise<unknown>,
  ): Promise<{ outcome: string; fired: number[]; missed: number; waitUntil?: number }> {
    const stateKey = this.keys.state(repoId, scheduleId);
    const [[registryError, json], [stateError, state]] = (await this.redis.multi().hget(this.keys.registry(repoId), scheduleId).hgetall(stateKey).exec()) as [[Error | null, string | null], [Error | null, Record<string, string>]];
    if (registryError || stateError) throw registryError ?? stateError;
    if (!json) {
      // Left behind by a removal that crashed half-way: nothing to fire, and no more ticks.
      await this.queue.removeJobScheduler(schedulerIdOf(repoId, scheduleId));
      return { outcome: "orphan scheduler removed", fired: [], missed: 0 };
    }
    const entry = JSON.parse(json) as RegisteredSchedule;
    if (state.paused === "1" || !entry.spec.enabled) return { outcome: state.paused === "1" ? "paused" : "disabled", fired: [], missed: 0 };
    const now = this.clock();
    const lower = Math.max(Number(state.lastDue ?? 0), Number(state.resumedAt ?? 0), entry.registeredAt);
    const upper = Math.max(now, Math.min(scheduledFor, now + 1_000));
    const { times, truncated } = dueTimesBetween(entry.spec, lower, upper, 1000);
    const { policy, windowMs } = misfireOf(entry.spec);
    const plan = planTick({ scheduledFor, now, due: times, truncated, policy, windowMs, graceMs: this.graceMs });
    if (plan.kind === "wait") return { outcome: "early", fired: [], missed: 0, waitUntil: plan.until };
    const jitter = scheduleDurationMs(entry.spec.jitter);
    for (const time of plan.fire) {
      const delay = time + jitterFor(firingKey(repoId, scheduleId, time), jitter) - now;
      if (inline && plan.fire.length === 1 && delay <= 0) {
        try {
          await inline({ repoId, scheduleId, scheduledFor: time, reason: "schedule" });
          continue;
        } catch (error) {
          const wait = error instanceof BufferedFiring ? error.retryAt - Date.now() : 0;
          if (!(error instanceof BufferedFiring)) this.log.warn({ repoId, scheduleId, err: error }, `schedule ${scheduleId}: firing failed in its tick; a fire job retries it`);
          await this.enqueueFire(repoId, scheduleId, time, "schedule", wait);
          continue;
        }
      }
      await this.enqueueFire(repoId, scheduleId, time, "schedule", delay);
    }
    const missed = plan.missed.length + plan.missedUnlisted;
    if (missed > 0) {
      const shown = plan.missed.slice(-5).map((time) => new Date(time).toISOString());
      await this.appendLog(repoId, scheduleId, {
        scheduledFor: plan.missed[0] ?? scheduledFor,
        firedAt: now,
        version: entry.version,
        reason: "misfire",
        outcome: "missed",
        tasks: [],
        detail: `${missed} due time${missed === 1 ? "" : "s"} missed (misfire: ${policy}); latest: ${shown.join(", ")}`,
      });
    }
    if (times.length) await this.redis.eval(ADVANCE, 1, stateKey, String(times.at(-1)));
    return { outcome: plan.fire.length ? "firing" : "nothing to fire", fired: plan.fire, missed };
  }

  /**
   * Runs one firing once. Returns what happened; throws RetryLaterError while another instance
   * holds the firing, and BufferedFiring when the overlap policy keeps it waiting.
   */
  async fire(
    data: FireData,
    spawn: SpawnTasks,
    runStateOf: RunStateOf,
    attempt = 1,
  ): Promise<{ outcome: string; tasks: number[]; key: string }> {
    const { repoId, scheduleId, scheduledFor, reason } = data;
    const key = firingKey(repoId, scheduleId, scheduledFor);
    const firingHash = this.keys.firing(repoId, key);
    if ((await this.redis.hget(firingHash, "status")) === "done") return { outcome: "duplicate", tasks: [], key };
    const holder = `${process.pid}-${Math.random()}`;
    if (!(await this.claim(repoId, `firing-${key}`, holder, CLAIM_MS))) throw new RetryLaterError(`schedules: firing ${key} is running elsewhere`);
    try {
      // Read again under the claim: another instance may have finished it since.
      const stateKey = this.keys.state(repoId, scheduleId);
      const [status, json, state, meta] = (await this.redis
        .multi()
        .hget(firingHash, "status")
        .hget(this.keys.registry(repoId), scheduleId)
        .hgetall(stateKey)
        .hgetall(this.keys.repo(repoId))
        .exec())!.map(([error, value]) => {
        if (error) throw error;
        return value;
      }) as [string | null, string | null, Record<string, string>, Record<string, string>];
      if (status === "done") return { outcome: "duplicate", tasks: [], key };
      const now = this.clock();
      if (!json) return await this.finish(repoId, scheduleId, key, { scheduledFor, firedAt: now, version: "", reason, outcome: "skipped", tasks: [], detail: "the schedule no longer exists" }, false, state);
      const entry = JSON.parse(json) as RegisteredSchedule;
      const base = { scheduledFor, firedAt: now, version: entry.version, reason };
      if (reason === "schedule") {
        if (state.paused === "1") return await this.finish(repoId, scheduleId, key, { ...base, outcome: "skipped", tasks: [], detail: "paused" }, false, state);
        const policy = entry.spec.overlap;
        let busy = 0;
        if (policy !== "allow" && state.lastFiring !== key) {
          const previous = JSON.parse(state.lastTasks ?? "[]") as { issue: number; spawnedAt: number }[];
          const tasks = await Promise.all(previous.map(async (task) => ({ state: await runStateOf(repoId, task.issue), spawnedAt: task.spawnedAt })));
          busy = busyTasks(tasks, now, this.terminal);
        }
        if (busy > 0 && policy === "buffer-one") await this.redis.hsetnx(stateKey, "buffered", key);
        const buffered = busy > 0 && policy === "buffer-one" ? ((await this.redis.hget(stateKey, "buffered")) ?? null) : null;
        const decision = decideOverlap({ policy, busy, buffered, firing: key });
        if (decision.kind === "skip" || decision.kind === "drop") {
          return await this.finish(repoId, scheduleId, key, { ...base, outcome: decision.kind === "skip" ? "skipped" : "dropped", tasks: [], detail: decision.reason }, false, state);
        }
        // BullMQ delays by the wall clock, whatever clock decides.
        if (decision.kind === "wait") throw new BufferedFiring(decision.reason, Date.now() + this.bufferPollMs);
        if (buffered === key) state.buffered = key;
      }
      const ledger: FiringLedger = {
        get: (field) => this.redis.hget(firingHash, `ledger:${field}`),
        set: async (field, value) => {
          await this.redis.multi().hset(firingHash, `ledger:${field}`, value).expire(firingHash, FIRING_TTL_SECONDS).exec();
        },
      };
      const label = meta.label ?? "conveyor";
      const repo: RepoRef = { id: repoId, owner: meta.owner ?? "", name: meta.name ?? "", installationId: Number(meta.installationId ?? 0) };
      const previous: PreviousFiring | null = state.lastFiredAt
        ? { scheduledFor: Number(state.lastScheduledFor), outcome: state.lastOutcome ?? "fired", tasks: (JSON.parse(state.lastTasks ?? "[]") as { issue: number }[]).map((t) => t.issue) }
        : null;
      const summary = firingSummary({ schedule: entry.spec, repo: `${repo.owner}/${repo.name}`, scheduledFor, firedAt: now, version: entry.version, reason, previous });
      const spawned = await spawn({ repo, schedule: entry.spec, version: entry.version, label, key, scheduledFor, firedAt: now, reason, summary, attempt }, ledger);
      const issues = spawned.map((task) => task.issue);
      const detail = `${reason === "schedule" ? "on schedule" : reason}${data.by ? ` by ${data.by}` : ""}: ${spawned.filter((t) => t.opened).length} opened, ${spawned.filter((t) => !t.opened).length} labelled`;
      return await this.finish(repoId, scheduleId, key, { ...base, firedAt: this.clock(), outcome: "fired", tasks: issues, detail }, true, state);
    } finally {
      await this.release(repoId, `firing-${key}`, holder);
    }
  }

  /** The firing's done-mark, its log entry and the schedule's state, in one step. */
  private async finish(repoId: number, scheduleId: string, key: string, entry: Omit<FiringLogEntry, "scheduleId">, ran: boolean, state: Record<string, string>): Promise<{ outcome: string; tasks: number[]; key: string }> {
    const firingHash = this.keys.firing(repoId, key);
    const stateKey = this.keys.state(repoId, scheduleId);
    const multi = this.redis.multi();
    multi.hset(firingHash, "status", "done", "outcome", entry.outcome, "tasks", JSON.stringify(entry.tasks), "firedAt", String(entry.firedAt));
    multi.expire(firingHash, FIRING_TTL_SECONDS);
    multi.lpush(this.keys.log(repoId, scheduleId), logEntry(entry)).ltrim(this.keys.log(repoId, scheduleId), 0, LOG_MAXLEN - 1);
    const fields = ["lastOutcome", entry.outcome, "lastScheduledFor", String(entry.scheduledFor), "lastFiredAt", String(entry.firedAt)];
    if (ran) fields.push("lastFiring", key, "lastTasks", JSON.stringify(entry.tasks.map((issue) => ({ issue, spawnedAt: entry.firedAt }))));
    if (entry.version !== "") multi.hset(stateKey, ...fields);
    // Whatever this firing's fate, it no longer holds the buffer slot.
    if (state.buffered === key) multi.hdel(stateKey, "buffered");
    await multi.exec();
    this.log.info({ repoId, scheduleId, firing: key, outcome: entry.outcome, tasks: entry.tasks }, `schedule ${scheduleId}: ${entry.outcome} (${entry.detail})`);
    this.onFiring?.({ scheduleId, outcome: entry.outcome, reason: entry.reason, scheduledFor: entry.scheduledFor, firedAt: entry.firedAt });
    return { outcome: entry.outcome, tasks: entry.tasks, key };
  }

  /** A firing that failed for good: logged, and its key stays free for a backfill. */
  async recordFailure(data: { repoId: number; scheduleId: string; scheduledFor: number; reason: FiringReason }, error: string): Promise<void> {
    const key = firingKey(data.repoId, data.scheduleId, data.scheduledFor);
    const version = (await this.redis.hget(this.keys.repo(data.repoId), "version")) ?? "";
    const now = this.clock();
    await this.redis.multi().hset(this.keys.firing(data.repoId, key), "status", "failed", "error", error.slice(0, 500)).expire(this.keys.firing(data.repoId, key), FIRING_TTL_SECONDS).exec();
    await this.appendLog(data.repoId, data.scheduleId, { scheduledFor: data.scheduledFor, firedAt: now, version, reason: data.reason, outcome: "failed", tasks: [], detail: error.slice(0, 500) });
    await this.redis.hset(this.keys.state(data.repoId, data.scheduleId), "lastOutcome", "failed", "lastScheduledFor", String(data.scheduledFor), "lastFiredAt", String(now));
    await this.redis.eval(`if redis.call('HGET', KEYS[1], 'buffered') == ARGV[1] then return redis.call('HDEL', KEYS[1], 'buffered') end return 0`, 1, this.keys.state(data.repoId, data.scheduleId), key);
  }

  async firingStatus(repoId: number, key: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.firing(repoId, key));
  }

  private async appendLog(repoId: number, scheduleId: string, entry: Omit<FiringLogEntry, "scheduleId">): Promise<void> {
    await this.redis.multi().lpush(this.keys.log(repoId, scheduleId), logEntry(entry)).ltrim(this.keys.log(repoId, scheduleId), 0, LOG_MAXLEN - 1).exec();
  }

  async claim(repoId: number, name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.claim(repoId, name), holder, "PX", ttlMs, "NX")) === "OK";
  }

  async release(repoId: number, name: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.claim(repoId, name), holder);
  }
}

/** The overlap policy keeps the firing waiting; the worker delays the job until `retryAt`. */
export class BufferedFiring extends Error {
  override name = "BufferedFiring";
  constructor(
    message: string,
    readonly retryAt: number,
  ) {
    super(message);
  }
}

function logEntry(entry: Omit<FiringLogEntry, "scheduleId">): string {
  return JSON.stringify({ s: entry.scheduledFor, f: entry.firedAt, v: entry.version, r: entry.reason, o: entry.outcome, t: entry.tasks, d: entry.detail });
}

export function describeTiming(spec: Pick<Schedule, "cron" | "every" | "timezone">): string {
  return spec.cron !== undefined ? `cron ${spec.cron} (${spec.timezone})` : `every ${spec.every}`;
}

function sameTiming(a: Schedule, b: Schedule): boolean {
  return a.cron === b.cron && a.every === b.every && a.timezone === b.timezone;
}

function matchesScheduler(current: { pattern?: string; every?: number; tz?: string }, spec: Schedule): boolean {
  if (spec.cron !== undefined) return current.pattern === spec.cron && (current.tz ?? "UTC") === spec.timezone;
  return current.every === scheduleDurationMs(spec.every!);
}

/** `repeat:<schedulerId>:<ms>` → ms (BullMQ names a scheduler's jobs after their due time). */
export function dueTimeOfJob(job: Pick<Job, "id" | "opts" | "timestamp">): number {
  const match = /:(\d+)$/.exec(job.id ?? "");
  if (match) return Number(match[1]);
  const prev = (job.opts as { prevMillis?: number }).prevMillis;
  return typeof prev === "number" ? prev : job.timestamp;
}

// ---- the worker ------------------------------------------------------------------------------

/** The GitHub side of schedule jobs (src/app/schedules/), injected so this module stays free of Probot. */
export interface ScheduleHandlers {
  spawn: SpawnTasks;
  runStateOf: RunStateOf;
  sync(data: Extract<ScheduleJobData, { kind: "sync" }>): Promise<unknown>;
  command(data: Extract<ScheduleJobData, { kind: "command" }>): Promise<unknown>;
  resyncAll(data: Extract<ScheduleJobData, { kind: "resync-all" }>): Promise<unknown>;
  reconcileDeliveries(): Promise<unknown>;
  cleanupRuns(): Promise<unknown>;
}

export interface ScheduleWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  schedulers: Schedulers;
  handlers: ScheduleHandlers;
  log: Logger;
  concurrency?: number;
}

/** The app's own periodic jobs, as job schedulers (one run per period across all instances). */
export interface Housekeeping {
  /** 0: off. */
  reconcileEveryMs: number;
  cleanupEveryMs: number;
  resyncEveryMs: number;
}

/**
 * Registers the housekeeping job schedulers; each first runs one period after it is first
 * registered, and re-registering with the same period changes nothing.
 */
export async function registerHousekeeping(queue: ScheduleQueue, housekeeping: Housekeeping, now = Date.now()): Promise<void> {
  const jobs = [
    ["reconcile-deliveries", housekeeping.reconcileEveryMs, { kind: "reconcile-deliveries" }],
    ["cleanup-runs", housekeeping.cleanupEveryMs, { kind: "cleanup-runs" }],
    ["resync-all", housekeeping.resyncEveryMs, { kind: "resync-all" }],
  ] as const;
  for (const [id, every, data] of jobs) {
    if (every <= 0) {
      await queue.removeJobScheduler(id);
      continue;
    }
    const current = await queue.getJobScheduler(id);
    if (current?.every === every) continue;
    await queue.upsertJobScheduler(id, { every, startDate: now + every }, { name: id, data, opts: { ...SCHEDULE_JOB_OPTIONS.work, attempts: 2, removeOnComplete: true } });
  }
}

export function startScheduleWorker(options: ScheduleWorkerOptions): Worker<ScheduleJobData> {
  const { schedulers, handlers, log } = options;
  const worker = new Worker<ScheduleJobData>(
    SCHEDULES_QUEUE,
    async (job, token) => {
      const data = job.data;
      switch (data.kind) {
        case "tick": {
          const result = await schedulers.tick(data.repoId, data.scheduleId, dueTimeOfJob(job), (fire) => schedulers.fire(fire, handlers.spawn, handlers.runStateOf, 1));
          if (result.waitUntil !== undefined) {
            await job.moveToDelayed(result.waitUntil, token);
            throw new DelayedError();
          }
          return result;
        }
        case "fire":
          try {
            return await schedulers.fire(data, handlers.spawn, handlers.runStateOf, job.attemptsMade + 1);
          } catch (error) {
            if (!(error instanceof BufferedFiring)) throw error;
            await job.moveToDelayed(error.retryAt, token);
            throw new DelayedError();
          }
        case "sync":
          return handlers.sync(data);
        case "remove-repo":
          return schedulers.removeRepo(data.repoId);
        case "command":
          return handlers.command(data);
        case "resync-all":
          return handlers.resyncAll(data);
        case "reconcile-deliveries":
          return handlers.reconcileDeliveries();
        case "cleanup-runs":
          return handlers.cleanupRuns();
      }
    },
    { connection: options.connection, prefix: options.prefix, concurrency: options.concurrency ?? 16, lockDuration: 60_000, stalledInterval: 15_000, maxStalledCount: 2 },
  );
  worker.on("failed", (job, error) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    log[final ? "error" : "warn"]({ queue: SCHEDULES_QUEUE, jobId: job.id, kind: job.data.kind, attempts: job.attemptsMade, err: error }, `schedule job ${job.data.kind} failed${final ? " for good" : ""}: ${error.message}`);
    if (final && job.data.kind === "fire") {
      void schedulers.recordFailure(job.data, error.message).catch((err: unknown) => log.error({ err }, "schedules: could not log a failed firing"));
    }
  });
  worker.on("error", (error) => log.error({ queue: SCHEDULES_QUEUE, err: error }, `schedule worker error: ${error.message}`));
  return worker;
}
