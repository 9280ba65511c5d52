import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { decide, type Decision } from "../pipeline/decide.js";
import { parseEffectId } from "../pipeline/effect-id.js";
import type { Effect, EffectOf } from "../pipeline/effects.js";
import type { PipelineEvent, TimerName } from "../pipeline/events.js";
import { TERMINAL_STATES, type Run } from "../pipeline/run.js";
import { digest } from "./codec.js";
import type { IssueKey } from "./keys.js";
import { timerJobData, type Queues } from "./queues.js";
import { outboxFields, SEEN_TTL_SECONDS, type AppendResult, type ApplyState, type Committed, type LoggedEvent, type LogSnapshot, type Outcome, type RunStore, type Snapshot, type TimerSlots, type UnreadableEvent } from "./run-store.js";

const BATCH = 100;
const MAX_CONFLICTS = 50;

/** BullMQ's reason for failing a job whose worker died more than maxStalledCount times. */
export const STALLED_OUT = "job stalled more than allowable limit";

/**
 * How long a status update waits before it renders: updates decided meanwhile join it (BullMQ
 * deduplication), so a run that moves through several stages in a few seconds edits its status
 * comment and check run once or twice instead of at every step.
 */
export const STATUS_DELAY_MS = 1_000;

export interface EngineOptions {
  /** See STATUS_DELAY_MS; 0 renders at once (still coalescing updates that wait for a worker). */
  statusDelayMs?: number;
}

export interface EngineHooks {
  onApplied?(before: Run | null, event: PipelineEvent, after: Run | null, applied: boolean, key: IssueKey): void;
}
/**
 * Outbox entries already enqueued are acknowledged by this process's next call for the same
 * issue (inside that script: an effect's job usually runs in the process that enqueued it), or
 * after this long, all in one round trip. Until then a crash only means the sweep enqueues them
 * again, which their fixed job ids make harmless.
 */
const ACK_DELAY_MS = 2_000;
/** Runs this process committed last, per issue: sent again by Redis only when they changed. */
const KNOWN_RUNS = 5_000;
/** A stream longer than this is compacted even while the run is busy. */
const COMPACT_AT = 64;
/** Issues the sweep probes per round trip. */
const SWEEP_PAGE = 500;

/** The BullMQ job id of a timer: short (so the job hash stays small) and fixed by the effect id. */
export function timerJobId(effectId: string): string {
  return `t${digest(effectId)}`;
}

/** The run an effect belongs to: effect ids start with the run id (pipeline/effect-id.ts). */
function runIdOf(effect: Effect): string {
  return effect.id.split("_")[0]!;
}

/** A deadline and an approval expiry share a slot; reminders have their own (see RunStore COMMIT). */
function slotOf(timer: TimerName): "D" | "R" {
  return timer === "reminder" ? "R" : "D";
}

/** A run that now waits for people or is finished: its history is compacted and its record compressed. */
function waits(run: Run | null): boolean {
  return run !== null && (run.state !== "active" || run.stage === "approval");
}

/** What applying a batch of log entries decided, before its commit. */
interface Batch {
  run: Run | null;
  effects: Effect[];
  outcomes: Outcome[];
  /** For the observers, once the commit landed: [before, event, after, applied]. */
  applied: [Run | null, PipelineEvent, Run | null, boolean][];
  /** Log lines, written once the commit landed (a refused commit is decided again). */
  lines: ["info" | "warn" | "error", Record<string, unknown>, string][];
  /** The webhook delivery behind an effect, for its job's log lines. */
  deliveries: Map<string, string>;
}

/** What one applying pass (one or more commits) leaves to do once its commits landed. */
class Pass {
  applied = 0;
  conflicts = 0;
  effects: Effect[] = [];
  cancels: string[] = [];
  deliveries = new Map<string, string>();
  last: { run: Run; logLength: number; log: LogSnapshot | undefined } | null = null;
  finished = false;
  changed = false;
}

/**
 * Which timers a commit arms. Only the last timer of each slot that belongs to the run's current
 * stage entry is kept (an earlier one, or one of an entry the same batch already left, would only
 * fire to be refused as stale); timers the commit does not arm are dropped when the run left
 * `active` or entered a new stage.
 */
export function planTimers(base: Run | null, run: Run | null, effects: Effect[]): { effects: Effect[]; timers: TimerSlots } {
  const active = run?.state === "active";
  const latest = new Map<"D" | "R", Effect>();
  let timers = 0;
  for (const effect of effects) {
    if (effect.kind !== "set-timer") continue;
    timers++;
    if (active && effect.stage === run.stage && effect.round === run.round && effect.stageStartedAt === run.stageStartedAt) latest.set(slotOf(effect.timer), effect);
  }
  const kept = timers === 0 ? effects : effects.filter((effect) => effect.kind !== "set-timer" || latest.get(slotOf(effect.timer)) === effect);
  const newEntry = !run || !base || base.id !== run.id || base.stage !== run.stage || base.round !== run.round || base.stageStartedAt !== run.stageStartedAt;
  const D = latest.get("D");
  const R = latest.get("R");
  return { effects: kept, timers: { D: D ? timerJobId(D.id) : "", R: R ? timerJobId(R.id) : "", clear: !active || newEntry } };
}

/** GitHub's delivery ids are GUIDs; ingress logs a delivery's events under `<guid>` or `<guid>-<n>`. */
const DELIVERY_SOURCE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-\d+)?$/i;

/** `{ deliveryId }` when the event came from a webhook delivery, for the log line that applies it. */
export function deliveryOf(source: string | undefined): { deliveryId?: string } {
  const match = source ? DELIVERY_SOURCE.exec(source) : null;
  return match ? { deliveryId: match[1]! } : {};
}

/**
 * The durable engine: events go into an issue's log and are folded through `decide`, which
 * commits the run with its effects (the outbox); then the outbox becomes BullMQ jobs. Webhooks
 * are applied by an apply job (ingress answers at once); an effect's or timer's result is applied
 * by the worker that produced it, right after appending it. Every step can crash and be
 * repeated: appends dedupe by source, commits check the version and cursor, effect and timer
 * jobs have deterministic ids, and the sweep re-drives what a crash left behind.
 */
export class Engine {
  private readonly pendingAcks = new Map<IssueKey, string[]>();
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly knownRuns = new Map<IssueKey, Run>();
  /** When this process created a run's pending status job (see addEffect). */
  private readonly statusAdded = new Map<string, number>();

  constructor(
    readonly store: RunStore,
    readonly queues: Queues,
    readonly log: Logger,
    /** Observers (metrics, live dashboards); called after a commit, once per applied log entry. */
    readonly hooks: EngineHooks = {},
    private readonly options: EngineOptions = {},
  ) {}

  /**
   * Logs an event for an issue and wakes an applier. `source` (delivery id, effect id) dedupes.
   * Ingress answers fast (GitHub gives up after 10 s): applying is an apply job's.
   */
  async submit(key: IssueKey, event: PipelineEvent, options: { source: string; requiresRun: boolean }): Promise<AppendResult> {
    // An event that may create a run is tracked before it is logged, so the sweep finds it even
    // if this process dies right after the append.
    if (!options.requiresRun) await this.store.track(key, Date.parse(event.at));
    const result = await this.store.append(key, event, options);
    if (result.status === "appended") await this.wake(key, result.entryId);
    return result;
  }

  /**
   * For workers: logs the result of an effect or timer and applies it in the same job. The run
   * exists and is tracked already, so nothing is tracked here. `known`: the run as the worker read
   * it (`decide` never mutates it); when it is still the stored run and nothing else waits to be
   * applied, the result is decided here and appended and committed in one round trip. Otherwise
   * it is appended and the pending entries applied in log order. Should applying fail, an apply
   * job takes over; should the process die first, the sweep finds the unapplied entry.
   */
  async submitAndApply(key: IssueKey, event: PipelineEvent, options: { source: string; requiresRun: boolean; known?: Run | null }): Promise<AppendResult> {
    const known = options.known ?? this.knownRun(key);
    const acks = this.takeAcks(key);
    let batch: Batch | null = null;
    try {
      if (known) batch = this.decideBatch(key, known, [{ entryId: "", event, source: options.source }], { rethrow: true });
    } catch {
      // decide threw: the ordinary path applies the logged event and tells the issue.
    }
    const plan = batch ? planTimers(known, batch.run, batch.effects) : null;
    const reply = await (batch && plan && known
      ? this.store.appendAndCommit(key, event, options, known, { run: batch.run, outcomes: batch.outcomes, effects: plan.effects, timers: plan.timers, readLog: waits(batch.run) }, acks, BATCH)
      : this.store.appendAndRead(key, event, options, BATCH, known, acks)
    ).catch((error: unknown) => {
      this.deferAcks(key, acks);
      throw error;
    });
    const { result } = reply;
    try {
      if ("committed" in reply) {
        const pass = new Pass();
        await this.landed(key, known, batch!, plan!.effects, reply.committed, pass);
        await this.finishPass(key, pass);
      } else if (reply.state && reply.state.entries.length > 0) {
        await this.applyFrom(key, reply.state);
      }
    } catch (error) {
      // The event is logged: it must not be lost with this error, nor fail the caller.
      this.log.warn({ err: error, issueKey: key, event: event.type }, `applying ${event.type} in the worker failed; an apply job takes over`);
      const last = "state" in reply ? reply.state?.entries.at(-1)?.entryId : undefined;
      await this.wake(key, result.status === "appended" ? result.entryId : `retry-${last ?? Date.now()}`);
    }
    return result;
  }

  async wake(key: IssueKey, reason: string): Promise<void> {
    await this.queues.events.add("apply", { issueKey: key }, { jobId: `apply-${key}-${reason}` });
  }

  /**
   * The issue's run as stored now (for a worker about to execute an effect). The run this process
   * committed last is not sent again when it is still current.
   */
  async load(key: IssueKey): Promise<Snapshot> {
    return (await this.readState(key, 0)).base;
  }

  private async readState(key: IssueKey, limit: number, known: Run | null = this.knownRun(key)): Promise<ApplyState> {
    const acks = this.takeAcks(key);
    try {
      return await this.store.readState(key, limit, known, acks);
    } catch (error) {
      this.deferAcks(key, acks);
      throw error;
    }
  }

  /**
   * The run an effect job executes against: the run at the version that decided the effect, when
   * this process committed that version and knows of no later one (no round trip), else the run
   * as stored now. Status updates always read the stored run: one job renders many decisions.
   */
  async runFor(key: IssueKey, effect: Effect): Promise<Run | null> {
    const known = this.knownRun(key);
    const decided = effect.kind === "post-status" ? null : parseEffectId(effect.id);
    if (known && decided && decided.runId === known.id && decided.version === known.version) return known;
    return (await this.load(key)).run;
  }

  private knownRun(key: IssueKey): Run | null {
    return this.knownRuns.get(key) ?? null;
  }

  private remember(key: IssueKey, run: Run | null): void {
    this.knownRuns.delete(key);
    if (!run) return;
    if (this.knownRuns.size >= KNOWN_RUNS) this.knownRuns.delete(this.knownRuns.keys().next().value!);
    this.knownRuns.set(key, run);
  }

  private takeAcks(key: IssueKey): string[] {
    const acks = this.pendingAcks.get(key);
    if (!acks) return [];
    this.pendingAcks.delete(key);
    return acks;
  }

  private deferAcks(key: IssueKey, fields: string[]): void {
    if (fields.length === 0) return;
    const pending = this.pendingAcks.get(key);
    if (pending) pending.push(...fields);
    else this.pendingAcks.set(key, [...fields]);
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => void this.flushAcks(), ACK_DELAY_MS);
      this.ackTimer.unref?.();
    }
  }

  /** Acknowledges every enqueued outbox entry not acknowledged yet (also on shutdown). */
  async flushAcks(): Promise<void> {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const pending = [...this.pendingAcks];
    this.pendingAcks.clear();
    if (pending.length === 0) return;
    try {
      await this.store.ackOutboxes(pending);
    } catch (error) {
      this.log.warn({ err: error, issues: pending.length }, "acknowledging enqueued effects failed; the sweep enqueues them again, harmlessly");
    }
  }

  /** Applies every pending event of an issue in log order; safe to run concurrently. */
  async apply(key: IssueKey): Promise<{ applied: number; conflicts: number }> {
    const result = await this.applyFrom(key, await this.readState(key, BATCH));
    // Nothing to apply: an outbox a failed drain left behind is still ours to enqueue.
    if (result.applied === 0) await this.drain(key);
    // What it enqueued is acknowledged with this process's next call for the issue (usually the
    // result of the effect it enqueued), or shortly: see ACK_DELAY_MS.
    return result;
  }

  private async ackNow(key: IssueKey): Promise<void> {
    const acks = this.takeAcks(key);
    try {
      await this.store.ackOutbox(key, acks);
    } catch (error) {
      this.deferAcks(key, acks);
      throw error;
    }
  }

  private async applyFrom(key: IssueKey, initial: ApplyState): Promise<{ applied: number; conflicts: number }> {
    const pass = new Pass();
    let state = initial;
    for (;;) {
      const { base, entries } = state;
      if (entries.length === 0) break;
      const batch = this.decideBatch(key, base.run, entries);
      const plan = planTimers(base.run, batch.run, batch.effects);
      const readLog = waits(batch.run) && entries.length < BATCH;
      const acks = this.takeAcks(key);
      const committed = await this.store.commitWith(key, base, { run: batch.run, cursor: entries.at(-1)!.entryId, outcomes: batch.outcomes, effects: plan.effects, timers: plan.timers, readLog, acks }).catch((error: unknown) => {
        this.deferAcks(key, acks);
        throw error;
      });
      if (!committed.ok) {
        // Another applier moved this run first; read again and go on from its result.
        this.deferAcks(key, acks);
        if (++pass.conflicts > MAX_CONFLICTS) throw new Error(`engine: gave up applying ${key} after ${pass.conflicts} conflicting commits`);
        state = await this.readState(key, BATCH, base.run);
        continue;
      }
      await this.landed(key, base.run, batch, plan.effects, committed, pass);
      if (entries.length < BATCH) break;
      state = await this.readState(key, BATCH, batch.run);
    }
    await this.finishPass(key, pass);
    return { applied: pass.applied, conflicts: pass.conflicts };
  }

  /**
   * Folds log entries through `decide`. Log lines and observer calls wait in the batch until its
   * commit lands. `rethrow`: a throwing `decide` is the caller's to handle (else see decideSafely).
   */
  private decideBatch(key: IssueKey, base: Run | null, entries: readonly (LoggedEvent | UnreadableEvent)[], options: { rethrow?: boolean } = {}): Batch {
    const batch: Batch = { run: base, effects: [], outcomes: [], applied: [], lines: [], deliveries: new Map() };
    for (const entry of entries) {
      const run = batch.run;
      if (!("event" in entry)) {
        batch.lines.push(["error", { runId: run?.id, issueKey: key, entryId: entry.entryId, problem: entry.problem }, "skipped an unreadable log entry"]);
        batch.outcomes.push({ of: entry.entryId, type: "unreadable", applied: false, reason: `unreadable log entry: ${entry.problem}`, stage: run?.stage ?? null, state: run?.state ?? null, effects: [] });
        continue;
      }
      const decision = options.rethrow ? decide(run, entry.event) : this.decideSafely(run, entry.event, entry.entryId);
      const delivery = deliveryOf(entry.source);
      const after = decision.applied ? decision.run : run;
      batch.applied.push([run, entry.event, after, decision.applied]);
      if (decision.applied) {
        batch.run = decision.run;
        batch.effects.push(...decision.effects);
        if (delivery.deliveryId) for (const effect of decision.effects) batch.deliveries.set(effect.id, delivery.deliveryId);
      }
      batch.outcomes.push({
        of: entry.entryId,
        type: entry.event.type,
        applied: decision.applied,
        reason: decision.reason,
        stage: after?.stage ?? null,
        state: after?.state ?? null,
        effects: decision.applied ? decision.effects.map((effect) => effect.kind) : [],
      });
      batch.lines.push([
        decision.applied ? "info" : "warn",
        { runId: after?.id, issueKey: key, event: entry.event.type, source: entry.source, ...delivery, stage: after?.stage, round: after?.round, applied: decision.applied },
        decision.applied ? `applied ${entry.event.type}: ${decision.reason}` : `ignored ${entry.event.type}: ${decision.reason}`,
      ]);
    }
    return batch;
  }

  /** After a commit landed: what it means for this process (known run, logs, observers, indexes) and what the pass must still do. */
  private async landed(key: IssueKey, base: Run | null, batch: Batch, effects: Effect[], committed: Committed, pass: Pass): Promise<void> {
    this.remember(key, batch.run);
    pass.applied += batch.outcomes.length;
    for (const [level, fields, message] of batch.lines) if (this.log.isLevelEnabled(level)) this.log[level](fields, message);
    if (this.hooks.onApplied) for (const [before, event, after, ok] of batch.applied) this.hooks.onApplied(before, event, after, ok, key);
    pass.effects.push(...effects);
    pass.cancels.push(...committed.cancels);
    for (const [id, delivery] of batch.deliveries) pass.deliveries.set(id, delivery);
    const run = batch.run;
    if (!run) return;
    // Indexes first (a webhook may need them at once); a finished run leaves the active set
    // only once its last effects are enqueued, so the sweep still finds them after a crash.
    if (run !== base) {
      await this.store.index(run, base, { keepActive: true });
      pass.finished = TERMINAL_STATES.includes(run.state);
      pass.changed = true;
    }
    pass.last = { run, logLength: committed.logLength, log: committed.log };
  }

  /** The end of an applying pass: its effects become jobs, a finished run leaves the active set, a waiting run is compacted. */
  private async finishPass(key: IssueKey, pass: Pass): Promise<void> {
    // Only what these commits added: entries left by another applier are that applier's to
    // enqueue (or acknowledge), and the sweep's once it died.
    if (pass.effects.length || pass.cancels.length) await this.enqueue(key, pass.effects, pass.cancels, pass);
    const last = pass.last;
    if (!last) return;
    if (pass.finished) {
      // The run leaves the active set, and with it the sweep's view: whatever is still in its
      // outbox (ours, or entries of an applier that died before enqueueing them) goes now. Job
      // ids dedupe what was enqueued already.
      await this.drain(key);
      await this.store.untrack(key);
    }
    // The record is packed once per version: a commit that left the run as it was keeps it packed.
    if (waits(last.run) || last.logLength >= COMPACT_AT) await this.compact(key, waits(last.run) && pass.changed ? last.run : null, last.log);
  }

  /** Compaction saves bytes and is redone at the next wait; its failure is no reason to fail the job. */
  private async compact(key: IssueKey, run: Run | null, log: LogSnapshot | undefined): Promise<void> {
    try {
      await this.store.compact(key, run, log ?? null);
    } catch (error) {
      this.log.warn({ err: error, issueKey: key }, "compacting the run's log failed; it stays in the stream");
    }
  }

  /**
   * A throwing `decide` is a bug in Conveyor. The event is skipped (a poison event must not block
   * every later event of the run) and the issue is told, so the failure is never silent.
   */
  private decideSafely(run: Run | null, event: PipelineEvent, entryId: string): Decision {
    try {
      return decide(run, event);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error({ err: error, runId: run?.id, event: event.type, entryId }, `decide threw on ${event.type}; the event is skipped`);
      if (!run) return { run, effects: [], applied: false, reason: `internal error: ${message}` };
      const body = [
        `⚠️ Conveyor hit an internal error while applying \`${event.type}\` to run \`${run.id}\` and skipped that event: ${message.replace(/\s+/g, " ")}`,
        "",
        `This is a bug in Conveyor, not in your repository. The run stays at stage **${run.stage}**; comment \`${run.config?.commandPrefix ?? "/conveyor"} retry\` to go on, and please report it with the run id.`,
      ].join("\n");
      const effect: Effect = { kind: "comment", id: `${run.id}_internal_${entryId}`, body };
      return { run, effects: [effect], applied: true, reason: `internal error, event skipped: ${message}` };
    }
  }

  /** Turns everything in an issue's outbox into jobs. Job ids are fixed by effect ids, so draining twice is harmless. */
  async drain(key: IssueKey): Promise<number> {
    // What this process enqueued and has not acknowledged yet is not enqueued again.
    const enqueued = new Set(this.pendingAcks.get(key));
    const outbox = await this.store.outboxEntries(key);
    const effects = outbox.effects.filter((effect) => !enqueued.has(effect.id));
    const cancels = outbox.cancels.filter((job) => !enqueued.has(outboxFields([], [job])[0]!));
    if (effects.length > 0 || cancels.length > 0) await this.enqueue(key, effects, cancels);
    await this.ackNow(key);
    return effects.length;
  }

  /**
   * Enqueues committed effects and removes replaced timer jobs; their outbox entries are then
   * acknowledged with this process's next call for the issue, or shortly (see ACK_DELAY_MS).
   * `pass`: the applying pass that just committed these effects (absent for a drain of what is
   * left in the outbox).
   */
  private async enqueue(key: IssueKey, effects: Effect[], cancels: string[], pass?: Pick<Pass, "deliveries">): Promise<void> {
    await Promise.all([
      ...effects.map((effect) => (effect.kind === "set-timer" ? this.addTimer(key, effect) : this.addEffect(key, effect, pass?.deliveries.get(effect.id), pass !== undefined))),
      // A timer that is running right now is locked and stays; it fires once, refused as stale.
      ...cancels.map((job) => this.queues.timers.remove(job)),
    ]);
    this.deferAcks(
      key,
      outboxFields(
        effects.map((effect) => effect.id),
        cancels,
      ),
    );
  }

  private addTimer(key: IssueKey, effect: EffectOf<"set-timer">): Promise<unknown> {
    const delay = Math.max(0, Date.parse(effect.fireAt) - Date.now());
    return this.queues.timers.add(effect.timer, timerJobData(key, effect), { jobId: timerJobId(effect.id), delay });
  }

  private async addEffect(key: IssueKey, effect: Effect, deliveryId: string | undefined, justCommitted: boolean): Promise<void> {
    const runId = runIdOf(effect);
    const data = { issueKey: key, runId, effect, ...(deliveryId ? { deliveryId } : {}) };
    if (effect.kind !== "post-status") {
      await this.queues.effects.add(effect.kind, data, { jobId: effect.id });
      return;
    }
    // Status updates coalesce: the job renders the run as stored when it runs, so one job that
    // has not started yet serves every update decided while it waits (its delay); one added while
    // it runs is kept and runs after it (BullMQ deduplication with keepLastIfActive), so the
    // status never stays behind the run. A job this process created cannot start before its
    // delay is over: while most of it is left (a margin for the wall clock BullMQ schedules by),
    // that job renders this update too, without asking Redis.
    const delay = this.options.statusDelayMs ?? STATUS_DELAY_MS;
    const now = performance.now();
    const added = this.statusAdded.get(runId);
    if (added !== undefined && now - added < delay * 0.8) return;
    const job = await this.queues.effects.add(effect.kind, data, { jobId: effect.id, delay, deduplication: { id: `${runId}_status`, keepLastIfActive: true } });
    // Only a job this call created fires a full delay after `now`; one it joined may start sooner.
    // An effect just committed has a new id, so a job with its id is one this call created; a
    // drain (sweep, recovery) may be answered with a job of that id that has run already.
    if (justCommitted && job.id === effect.id && delay > 0) {
      if (this.statusAdded.size >= KNOWN_RUNS) this.statusAdded.clear();
      this.statusAdded.set(runId, now);
    }
  }

  /** An effect BullMQ gave up on after crashes: park its run with the reason, once. */
  async reportStalledEffect(job: { issueKey: IssueKey; runId: string; effect: Effect }, times: number): Promise<void> {
    const event: PipelineEvent = {
      type: "effect.failed",
      at: new Date().toISOString(),
      effectId: job.effect.id,
      kind: job.effect.kind,
      error: `the worker running it died ${times} times (crash, kill, out of memory) and the job was given up`,
    };
    await this.submit(job.issueKey, event, { source: `${job.effect.id}-failed`, requiresRun: true });
  }

  /**
   * Re-drives runs a crash left behind: events logged but not applied (crash between append and
   * apply), effects committed but not enqueued (crash between commit and drain, whose indexes
   * are then written again too), finished runs still listed as active, and effect jobs BullMQ
   * failed because their workers kept dying (reported to the run, in case the worker's own
   * report died with it).
   */
  async sweep(): Promise<{ woken: number; drained: number }> {
    let woken = 0;
    let drained = 0;
    // Reported again each sweep (the run's log dedupes by source), but only while that dedupe
    // lasts: older failed jobs stay on the queue board for operators and are left alone.
    const since = Date.now() - (SEEN_TTL_SECONDS - 86_400) * 1000;
    for (const job of await this.queues.effects.getFailed(0, 199)) {
      if (job.failedReason === STALLED_OUT && (job.finishedOn ?? 0) >= since) await this.reportStalledEffect(job.data, job.stalledCounter);
    }
    const untrack: IssueKey[] = [];
    for (let offset = 0; ; offset += SWEEP_PAGE) {
      const keys = await this.store.activeIssues(SWEEP_PAGE, offset);
      for (const probe of await this.store.probe(keys)) {
        if (probe.unapplied) {
          // A fresh id each sweep: an apply job BullMQ gave up on must not block the next one.
          await this.wake(probe.key, `sweep-${probe.unapplied}-${Date.now()}`);
          woken++;
          continue;
        }
        if (probe.queued > 0) {
          const { run } = await this.store.load(probe.key);
          if (run) await this.store.index(run, null, { keepActive: true });
          drained += await this.drain(probe.key);
        }
        if (!probe.hasRun || TERMINAL_STATES.includes(probe.state as Run["state"])) untrack.push(probe.key);
      }
      if (keys.length < SWEEP_PAGE) break;
    }
    for (const key of untrack) await this.store.untrack(key);
    return { woken, drained };
  }
}
