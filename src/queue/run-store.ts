import type { Redis } from "ioredis";
import type { Effect } from "../pipeline/effects.js";
import { PipelineEvent } from "../pipeline/events.js";
import { Run, TERMINAL_STATES } from "../pipeline/run.js";
import { issueKey, type IssueKey, type Keys } from "./keys.js";

/** How long a delivery id / effect id is remembered: GitHub lets anyone redeliver for 3 days. */
export const SEEN_TTL_SECONDS = 4 * 24 * 3600;

// Appends one event unless its source was seen; the seen mark and the append are one step, so a
// redelivery can neither be lost nor applied twice. With requiresRun, an issue without a live run
// stores nothing at all.
const APPEND = `
if redis.call('EXISTS', KEYS[3]) == 1 then return {'duplicate'} end
if ARGV[5] == '1' then
  local state = redis.call('HGET', KEYS[1], 'state')
  if (not state) or ${TERMINAL_STATES.map((s) => `state == '${s}'`).join(" or ")} then return {'no-run'} end
end
redis.call('SET', KEYS[3], '1', 'EX', ARGV[4])
local id = redis.call('XADD', KEYS[2], '*', 'kind', 'event', 'type', ARGV[1], 'event', ARGV[2], 'source', ARGV[3])
return {'appended', id}`;

// The outbox commit: the new run, the cursor, what happened, and the effects to run, in one step,
// refused when another applier moved the run (version or cursor) since we read it.
const COMMIT = `
local version = redis.call('HGET', KEYS[1], 'version') or '0'
local cursor = redis.call('HGET', KEYS[1], 'cursor') or '0-0'
if version ~= ARGV[1] or cursor ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'cursor', ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'run', ARGV[4], 'version', ARGV[5], 'state', ARGV[6], 'runId', ARGV[7])
end
local outcomes = tonumber(ARGV[8])
for i = 1, outcomes do
  redis.call('XADD', KEYS[2], '*', 'kind', 'outcome', 'outcome', ARGV[8 + i])
end
for i = 9 + outcomes, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
return 1`;

export type AppendResult = { status: "appended"; entryId: string } | { status: "duplicate" | "no-run" };

export interface Snapshot {
  run: Run | null;
  version: number;
  cursor: string;
}

export interface LoggedEvent {
  entryId: string;
  event: PipelineEvent;
  source: string;
}

/** A log entry that no longer parses (written by an older version, or corrupted). */
export interface UnreadableEvent {
  entryId: string;
  problem: string;
}

/** What applying one logged event did; kept in the log so a run's timeline explains itself. */
export interface Outcome {
  of: string;
  type: PipelineEvent["type"] | "unreadable";
  applied: boolean;
  reason: string;
  stage: string | null;
  state: string | null;
  effects: string[];
}

export type LogEntry =
  | { kind: "event"; entryId: string; event: PipelineEvent; source: string }
  | { kind: "outcome"; entryId: string; outcome: Outcome }
  | { kind: "unreadable"; entryId: string; problem: string };

/**
 * Runs, their event logs and outboxes in Redis. One issue has at most one live run; the run
 * record carries a version and every commit checks it (optimistic concurrency), so any number
 * of workers can apply events and none of them loses an update.
 */
export class RunStore {
  constructor(
    readonly redis: Redis,
    readonly keys: Keys,
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection.
    redis.defineCommand("conveyorAppend", { numberOfKeys: 3, lua: APPEND });
    redis.defineCommand("conveyorCommit", { numberOfKeys: 3, lua: COMMIT });
  }

  private script(name: "conveyorAppend" | "conveyorCommit", ...args: (string | number)[]): Promise<unknown> {
    return (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name]!(...args);
  }

  async append(key: IssueKey, event: PipelineEvent, options: { source: string; requiresRun: boolean }): Promise<AppendResult> {
    const reply = (await this.script(
      "conveyorAppend",
      this.keys.meta(key),
      this.keys.log(key),
      this.keys.seen(key, options.source),
      event.type,
      JSON.stringify(event),
      options.source,
      SEEN_TTL_SECONDS,
      options.requiresRun ? "1" : "0",
    )) as [string, string?];
    if (reply[0] === "appended") return { status: "appended", entryId: reply[1]! };
    return { status: reply[0] as "duplicate" | "no-run" };
  }

  async load(key: IssueKey): Promise<Snapshot> {
    const [run, version, cursor] = await this.redis.hmget(this.keys.meta(key), "run", "version", "cursor");
    return { run: run ? Run.parse(JSON.parse(run)) : null, version: Number(version ?? 0), cursor: cursor ?? "0-0" };
  }

  /** Logged events after the cursor, oldest first; entries that do not parse are returned as such. */
  async pending(key: IssueKey, cursor: string, limit = 100): Promise<(LoggedEvent | UnreadableEvent)[]> {
    const entries = await this.redis.xrange(this.keys.log(key), `(${cursor}`, "+", "COUNT", limit);
    const events: (LoggedEvent | UnreadableEvent)[] = [];
    for (const [entryId, fields] of entries) {
      const entry = parseEntrySafely(entryId, fields);
      if (entry.kind === "event") events.push(entry);
      else if (entry.kind === "unreadable") events.push(entry);
    }
    return events;
  }

  /** Marks an issue as live before its first event is logged, so the sweep can find it. */
  async track(key: IssueKey, at: number): Promise<void> {
    await this.redis.zadd(this.keys.active(), "NX", String(at), key);
  }

  async untrack(key: IssueKey): Promise<void> {
    await this.redis.zrem(this.keys.active(), key);
  }

  async commit(
    key: IssueKey,
    base: Snapshot,
    next: { run: Run | null; cursor: string; outcomes: Outcome[]; effects: Effect[] },
  ): Promise<boolean> {
    const changed = next.run !== null && next.run !== base.run;
    const args: (string | number)[] = [
      String(base.version),
      base.cursor,
      next.cursor,
      changed ? JSON.stringify(next.run) : "",
      next.run?.version ?? 0,
      next.run?.state ?? "",
      next.run?.id ?? "",
      next.outcomes.length,
      ...next.outcomes.map((outcome) => JSON.stringify(outcome)),
      ...next.effects.flatMap((effect) => [effect.id, JSON.stringify(effect)]),
    ];
    const ok = await this.script("conveyorCommit", this.keys.meta(key), this.keys.log(key), this.keys.outbox(key), ...args);
    return ok === 1;
  }

  async outbox(key: IssueKey): Promise<Effect[]> {
    const entries = await this.redis.hvals(this.keys.outbox(key));
    return entries.map((json) => JSON.parse(json) as Effect);
  }

  async ackOutbox(key: IssueKey, effectIds: string[]): Promise<void> {
    if (effectIds.length) await this.redis.hdel(this.keys.outbox(key), ...effectIds);
  }

  /** Indexes outside the issue's slot: written after the commit, idempotent, repaired by the sweep. */
  async index(run: Run): Promise<void> {
    const key = issueKey(run.repo.id, run.issue.number);
    const updated = Date.parse(run.updatedAt);
    const multi = this.redis.multi();
    multi.zadd(this.keys.all(), "NX", Date.parse(run.createdAt), key);
    if (TERMINAL_STATES.includes(run.state)) multi.zrem(this.keys.active(), key);
    else multi.zadd(this.keys.active(), updated, key);
    if (run.pr) {
      multi.set(this.keys.pullRequest(run.repo.id, run.pr.number), key);
      multi.set(this.keys.branch(run.repo.id, run.pr.branch), key);
    }
    if (run.workflowRunId !== null) multi.set(this.keys.workflowRun(run.workflowRunId), key, "EX", 30 * 86_400);
    if (run.config) multi.hset(this.keys.repoSettings(run.repo.id), "label", run.config.label, "commandPrefix", run.config.commandPrefix);
    await multi.exec();
  }

  async issueOfPullRequest(repoId: number, pr: number): Promise<IssueKey | null> {
    return this.redis.get(this.keys.pullRequest(repoId, pr));
  }

  async issueOfWorkflowRun(workflowRunId: number): Promise<IssueKey | null> {
    return this.redis.get(this.keys.workflowRun(workflowRunId));
  }

  /** The trigger label and command prefix the repository's config named when last loaded. */
  async repoSettings(repoId: number): Promise<{ label: string | null; commandPrefix: string | null }> {
    const [label, commandPrefix] = await this.redis.hmget(this.keys.repoSettings(repoId), "label", "commandPrefix");
    return { label: label ?? null, commandPrefix: commandPrefix ?? null };
  }

  async activeIssues(limit = 1000): Promise<IssueKey[]> {
    return this.redis.zrange(this.keys.active(), "0", String(limit - 1));
  }

  async history(key: IssueKey): Promise<LogEntry[]> {
    const entries = await this.redis.xrange(this.keys.log(key), "-", "+");
    return entries.map(([entryId, fields]) => parseEntrySafely(entryId, fields));
  }

  async ledgerGet(key: IssueKey, field: string): Promise<string | null> {
    return this.redis.hget(this.keys.ledger(key), field);
  }

  async ledgerSet(key: IssueKey, field: string, value: string): Promise<void> {
    await this.redis.hset(this.keys.ledger(key), field, value);
  }

  /** A short exclusive claim (e.g. "I am creating the status comment"); expires by itself. */
  async claim(key: IssueKey, name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.claim(key, name), holder, "PX", ttlMs, "NX")) === "OK";
  }

  async release(key: IssueKey, name: string): Promise<void> {
    await this.redis.del(this.keys.claim(key, name));
  }
}

function parseEntrySafely(entryId: string, fields: string[]): LogEntry {
  try {
    return parseEntry(entryId, fields);
  } catch (error) {
    return { kind: "unreadable", entryId, problem: error instanceof Error ? error.message.slice(0, 500) : String(error) };
  }
}

function parseEntry(entryId: string, fields: string[]): LogEntry {
  const map = new Map<string, string>();
  for (let i = 0; i < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  if (map.get("kind") === "outcome") return { kind: "outcome", entryId, outcome: JSON.parse(map.get("outcome")!) as Outcome };
  return { kind: "event", entryId, event: PipelineEvent.parse(JSON.parse(map.get("event")!)), source: map.get("source") ?? "" };
}
