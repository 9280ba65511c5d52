import type { Logger } from "pino";
import { decide, type Decision } from "../pipeline/decide.js";
import type { Effect } from "../pipeline/effects.js";
import type { PipelineEvent } from "../pipeline/events.js";
import type { Run } from "../pipeline/run.js";
import type { IssueKey } from "./keys.js";
import type { Queues } from "./queues.js";
import type { AppendResult, Outcome, RunStore } from "./run-store.js";

const BATCH = 100;
const MAX_CONFLICTS = 50;

/**
 * The durable engine: events go into an issue's log, an apply job folds them through `decide`
 * and commits the run with its effects (the outbox), then the outbox becomes BullMQ jobs.
 * Every step can crash and be repeated: appends dedupe by source, commits check the version,
 * effect and timer jobs have deterministic ids.
 */
export class Engine {
  constructor(
    readonly store: RunStore,
    readonly queues: Queues,
    readonly log: Logger,
  ) {}

  /** Logs an event for an issue and wakes an applier. `source` (delivery id, effect id) dedupes. */
  async submit(key: IssueKey, event: PipelineEvent, options: { source: string; requiresRun: boolean }): Promise<AppendResult> {
    // An event that may create a run is tracked before it is logged, so the sweep finds it even
    // if this process dies right after the append.
    if (!options.requiresRun) await this.store.track(key, Date.parse(event.at));
    const result = await this.store.append(key, event, options);
    if (result.status === "appended") await this.wake(key, result.entryId);
    return result;
  }

  async wake(key: IssueKey, reason: string): Promise<void> {
    await this.queues.events.add("apply", { issueKey: key }, { jobId: `apply-${key}-${reason}` });
  }

  /** Applies every pending event of an issue in log order; safe to run concurrently. */
  async apply(key: IssueKey): Promise<{ applied: number; conflicts: number }> {
    let applied = 0;
    let conflicts = 0;
    for (;;) {
      const base = await this.store.load(key);
      const entries = await this.store.pending(key, base.cursor, BATCH);
      if (entries.length === 0) break;
      let run: Run | null = base.run;
      const effects: Effect[] = [];
      const outcomes: Outcome[] = [];
      for (const entry of entries) {
        if (!("event" in entry)) {
          this.log.error({ runId: run?.id, issueKey: key, entryId: entry.entryId, problem: entry.problem }, "skipped an unreadable log entry");
          outcomes.push({ of: entry.entryId, type: "unreadable", applied: false, reason: `unreadable log entry: ${entry.problem}`, stage: run?.stage ?? null, state: run?.state ?? null, effects: [] });
          continue;
        }
        const decision = this.decideSafely(run, entry.event, entry.entryId);
        if (decision.applied) {
          run = decision.run;
          effects.push(...decision.effects);
        }
        outcomes.push({
          of: entry.entryId,
          type: entry.event.type,
          applied: decision.applied,
          reason: decision.reason,
          stage: run?.stage ?? null,
          state: run?.state ?? null,
          effects: decision.applied ? decision.effects.map((effect) => effect.kind) : [],
        });
        this.log[decision.applied ? "info" : "warn"](
          { runId: run?.id, issueKey: key, event: entry.event.type, source: entry.source, stage: run?.stage, round: run?.round, applied: decision.applied },
          decision.applied ? `applied ${entry.event.type}: ${decision.reason}` : `ignored ${entry.event.type}: ${decision.reason}`,
        );
      }
      const committed = await this.store.commit(key, base, { run, cursor: entries.at(-1)!.entryId, outcomes, effects });
      if (!committed) {
        // Another applier moved this run first; read again and go on from its result.
        if (++conflicts > MAX_CONFLICTS) throw new Error(`engine: gave up applying ${key} after ${conflicts} conflicting commits`);
        continue;
      }
      applied += entries.length;
      if (run) await this.store.index(run);
      if (entries.length < BATCH) break;
    }
    await this.drain(key);
    return { applied, conflicts };
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

  /** Turns committed effects into jobs. Job ids are effect ids, so draining twice is harmless. */
  async drain(key: IssueKey): Promise<number> {
    const effects = await this.store.outbox(key);
    if (effects.length === 0) return 0;
    const runId = (await this.store.load(key)).run?.id ?? "";
    for (const effect of effects) {
      if (effect.kind === "set-timer") {
        const delay = Math.max(0, Date.parse(effect.fireAt) - Date.now());
        await this.queues.timers.add("timer", { issueKey: key, effect }, { jobId: effect.id, delay });
      } else {
        await this.queues.effects.add(effect.kind, { issueKey: key, runId, effect }, { jobId: effect.id });
      }
    }
    await this.store.ackOutbox(key, effects.map((effect) => effect.id));
    return effects.length;
  }

  /**
   * Re-drives runs a crash left behind: events logged but not applied (crash between append and
   * wake) and effects committed but not enqueued (crash between commit and drain).
   */
  async sweep(): Promise<{ woken: number; drained: number }> {
    let woken = 0;
    let drained = 0;
    for (const key of await this.store.activeIssues()) {
      const snapshot = await this.store.load(key);
      const pending = await this.store.pending(key, snapshot.cursor);
      if (pending.length > 0) {
        await this.wake(key, `sweep-${pending.at(-1)!.entryId}`);
        woken++;
      } else if (snapshot.run === null) {
        await this.store.untrack(key);
      }
      drained += await this.drain(key);
    }
    return { woken, drained };
  }
}
