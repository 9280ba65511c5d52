import type { Redis } from "ioredis";
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Effect } from "../pipeline/effects.js";
import { PipelineEvent } from "../pipeline/events.js";
import { Run, TERMINAL_STATES } from "../pipeline/run.js";
import { compareStreamIds, digest, nextStreamId, packArchiveFrame, packRecord, unpackArchive, unpackRecord, type RawEntry } from "./codec.js";
import { issueKey, type IssueKey, type Keys } from "./keys.js";

/** How long a delivery id / effect id is remembered: GitHub lets anyone redeliver for 3 days. */
export const SEEN_TTL_SECONDS = 4 * 24 * 3600;
/** The workflow run → issue index outlives any implementer run by far. */
const WORKFLOW_RUN_INDEX_SECONDS = 30 * 86_400;

const TERMINAL_LUA = TERMINAL_STATES.map((s) => `state == '${s}'`).join(" or ");

// What an applier reads, in one step: version, cursor, the run record and up to `limit` log
// entries after the cursor (none for 0). When the run is still the one the caller holds
// (`knownId`, `knownVersion`), the record is answered with '=' instead of being sent again.
const READ_APPLY_STATE = `
local function readApplyState(kMeta, kRun, kLog, limit, knownId, knownVersion)
  local m = redis.call('HMGET', kMeta, 'version', 'cursor', 'schema', 'runId')
  local cursor = m[2] or '0-0'
  local run = '='
  if knownId == '' or m[4] ~= knownId or m[1] ~= knownVersion then run = redis.call('GET', kRun) or '' end
  local entries = {}
  if limit > 0 then entries = redis.call('XRANGE', kLog, '(' .. cursor, '+', 'COUNT', limit) end
  return {m[1] or '0', cursor, m[3] or '', run, entries}
end`;

// READ_APPLY_STATE as a script: ARGV[1..3] its limit, known id and version. ARGV[4..]: outbox
// entries the caller enqueued since (acknowledged here, saving a round trip of their own).
const READ_STATE = `${READ_APPLY_STATE}
if #ARGV > 3 then redis.call('HDEL', KEYS[4], unpack(ARGV, 4)) end
return readApplyState(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), ARGV[2], ARGV[3])`;

// Appends one event unless its source was seen; the seen mark and the append are one step, so a
// redelivery can neither be lost nor applied twice. With requiresRun, an issue without a live run
// stores nothing at all. Seen marks are one sorted set per issue (member: the source's digest,
// score: when the mark expires), pruned here. a[1..7]: type, event JSON, source, its digest, now
// (ms), mark TTL (ms), requiresRun. Answers the status ('appended', 'duplicate', 'no-run') and id.
const APPEND_EVENT = `
local function appendEvent(kMeta, kLog, kSeen, a)
  local now = tonumber(a[5])
  local ttl = tonumber(a[6])
  local seen = redis.call('ZSCORE', kSeen, a[4])
  if seen and tonumber(seen) > now then return 'duplicate', '' end
  if a[7] == '1' then
    local state = redis.call('HGET', kMeta, 'state')
    if (not state) or ${TERMINAL_LUA} then return 'no-run', '' end
  end
  redis.call('ZREMRANGEBYSCORE', kSeen, '-inf', now)
  redis.call('ZADD', kSeen, now + ttl, a[4])
  redis.call('PEXPIRE', kSeen, ttl)
  -- Compaction deletes a stream it emptied; a new one must still number after the archive.
  local next = '*'
  if redis.call('EXISTS', kLog) == 0 then
    local archived = redis.call('HGET', kMeta, 'archived')
    if archived then
      local ms, seq = string.match(archived, '^(%d+)-(%d+)$')
      if now > tonumber(ms) then next = string.format('%d-0', now) else next = ms .. '-' .. (tonumber(seq) + 1) end
    end
  end
  return 'appended', redis.call('XADD', kLog, next, 'kind', 'event', 'type', a[1], 'event', a[2], 'source', a[3])
end`;

// APPEND_EVENT as a script. With ARGV[8] > 0 it also answers what an applier reads (READ_STATE,
// ARGV[9..10] as its ARGV[2..3]), so a worker applies its result without another round trip.
// ARGV[11..]: outbox entries to acknowledge, as in READ_STATE.
const APPEND = `${APPEND_EVENT}${READ_APPLY_STATE}
if #ARGV > 10 then redis.call('HDEL', KEYS[5], unpack(ARGV, 11)) end
local status, id = appendEvent(KEYS[1], KEYS[2], KEYS[3], ARGV)
if status == 'no-run' then return {'no-run'} end
if tonumber(ARGV[8]) == 0 then return {status, id} end
local r = readApplyState(KEYS[1], KEYS[4], KEYS[2], tonumber(ARGV[8]), ARGV[9], ARGV[10])
return {status, id, r[1], r[2], r[3], r[4], r[5]}`;

// The outbox commit's writes (the caller has checked that the run did not move): the new run,
// the cursor, what happened, and the effects to run. It also keeps the run's timer jobs: at most
// one in each slot (D: deadline or approval expiry, R: reminder). A timer armed in a slot replaces
// the one there; a run that leaves `active` or enters a new stage without arming a slot drops it.
// Replaced timers become outbox entries `-<job id>`, which the drain removes from the timers queue
// (a late one would be refused by decide anyway). `a[f..f+11]`: base version, base cursor, new
// cursor, run record ('' when unchanged), version, state, run id, schema, timer D, timer R, clear,
// readLog; `a[oc]`: how many outcomes follow, then effect id/JSON pairs. `of`: when set, the entry
// id written into each outcome, whose JSON then starts with '{"of":""' (8 bytes).
// m: HMGET meta 'version', 'cursor', 'tD', 'tR', 'archived'.
const COMMIT_WRITES = `
local function commitWrites(kMeta, kLog, kOutbox, kRun, a, f, oc, m, cursor, of)
  if a[f + 3] ~= '' then
    redis.call('SET', kRun, a[f + 3])
    redis.call('HSET', kMeta, 'cursor', cursor, 'version', a[f + 4], 'state', a[f + 5], 'runId', a[f + 6], 'schema', a[f + 7])
  else
    redis.call('HSET', kMeta, 'cursor', cursor)
  end
  local outcomes = tonumber(a[oc])
  for i = 1, outcomes do
    local outcome = a[oc + i]
    if of then outcome = '{"of":"' .. of .. '"' .. string.sub(outcome, 9) end
    redis.call('XADD', kLog, '*', 'kind', 'outcome', 'outcome', outcome)
  end
  if #a > oc + outcomes then redis.call('HSET', kOutbox, unpack(a, oc + outcomes + 1)) end
  local cancels = {}
  local function slot(field, current, arm)
    if arm ~= '' then
      if current ~= arm then
        if current then cancels[#cancels + 1] = current end
        redis.call('HSET', kMeta, field, arm)
      end
    elseif current and a[f + 10] == '1' then
      cancels[#cancels + 1] = current
      redis.call('HDEL', kMeta, field)
    end
  end
  slot('tD', m[3], a[f + 8])
  slot('tR', m[4], a[f + 9])
  for _, job in ipairs(cancels) do redis.call('HSET', kOutbox, '-' .. job, '') end
  -- For a run that now waits, what compaction reads (READ_LOG), saving it a round trip.
  local log = {}
  if a[f + 11] == '1' then log = redis.call('XRANGE', kLog, '-', '+', 'COUNT', 1000) end
  return {1, redis.call('XLEN', kLog), cancels, m[5] or '', log}
end`;

// The outbox commit: refused when another applier moved the run (version or cursor) since we
// read it. Outbox entries the caller enqueued since its last call (ARGV[14..]) are acknowledged
// first. ARGV: see COMMIT_WRITES (f = 1), then [13] how many acks, the acks, the outcomes.
const COMMIT = `${COMMIT_WRITES}
local m = redis.call('HMGET', KEYS[1], 'version', 'cursor', 'tD', 'tR', 'archived')
if (m[1] or '0') ~= ARGV[1] or (m[2] or '0-0') ~= ARGV[2] then return {0} end
local acks = tonumber(ARGV[13])
if acks > 0 then redis.call('HDEL', KEYS[3], unpack(ARGV, 14, 13 + acks)) end
return commitWrites(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV, 1, 14 + acks, m, ARGV[3], nil)`;

// An effect's or timer's result, appended and committed in one step when the caller decided it
// on the run as stored: the run is still at the version the caller holds (ARGV[9..10]) and the
// new entry is the first event after the cursor. Otherwise it is only appended, and the reply is
// APPEND's, with what an applier reads. ARGV[1..10]: as APPEND; [11] how many acks, the acks, then
// the commit as COMMIT_WRITES reads it (f = 12 + acks), its outcomes' `of` left empty.
const APPEND_COMMIT = `${APPEND_EVENT}${READ_APPLY_STATE}${COMMIT_WRITES}
local acks = tonumber(ARGV[11])
if acks > 0 then redis.call('HDEL', KEYS[5], unpack(ARGV, 12, 11 + acks)) end
local status, id = appendEvent(KEYS[1], KEYS[2], KEYS[3], ARGV)
if status == 'no-run' then return {'no-run'} end
if status == 'appended' then
  local m = redis.call('HMGET', KEYS[1], 'version', 'cursor', 'tD', 'tR', 'archived', 'runId')
  if (m[1] or '0') == ARGV[10] and m[6] == ARGV[9] then
    local first = nil
    for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '(' .. (m[2] or '0-0'), '+', 'COUNT', 16)) do
      if entry[2][2] ~= 'outcome' then
        first = entry[1]
        break
      end
    end
    if first == id then
      local f = 12 + acks
      local r = commitWrites(KEYS[1], KEYS[2], KEYS[5], KEYS[4], ARGV, f, f + 12, m, id, id)
      return {'committed', id, r[2], r[3], r[4], r[5]}
    end
  end
end
local r = readApplyState(KEYS[1], KEYS[4], KEYS[2], tonumber(ARGV[8]), ARGV[9], ARGV[10])
return {status, id, r[1], r[2], r[3], r[4], r[5]}`;

// What compaction reads: the cursor, what is archived already, and the log's entries.
const READ_LOG = `
local m = redis.call('HMGET', KEYS[1], 'cursor', 'archived')
return {m[1] or '0-0', m[2] or '', redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', tonumber(ARGV[1]))}`;

// Moves applied log entries into the archive: refused unless the archive is still what the
// compactor read (ARGV[1]) and the cursor is at or past the last event it archives (ARGV[4]), so
// an entry is archived once and an event nobody applied yet never leaves the stream. Entries
// appended meanwhile have larger ids than any it read, so XTRIM MINID keeps them. With ARGV[8],
// the run's record is replaced by its compressed form when the run is still at that version.
const COMPACT = `
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function before(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local m = redis.call('HMGET', KEYS[1], 'archived', 'cursor', 'version', 'runId')
local archived = 0
if ARGV[2] ~= '' and (m[1] or '') == ARGV[1] and (ARGV[4] == '' or not before(m[2] or '0-0', ARGV[4])) then
  local old = redis.call('GET', KEYS[3]) or ''
  redis.call('SET', KEYS[3], old .. ARGV[5])
  redis.call('HSET', KEYS[1], 'archived', ARGV[2])
  redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3])
  -- An empty stream still costs ~400 bytes; APPEND numbers a new one after 'archived'.
  if redis.call('XLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[2]) end
  archived = 1
end
local packed = 0
if ARGV[8] ~= '' and m[3] == ARGV[6] and m[4] == ARGV[7] then
  redis.call('SET', KEYS[4], ARGV[8])
  packed = 1
end
return {archived, packed}`;

// The sweep's question for one issue: is anything logged but not applied, or committed but not enqueued?
const PROBE = `
local cursor = redis.call('HGET', KEYS[1], 'cursor') or '0-0'
local after = redis.call('XRANGE', KEYS[2], '(' .. cursor, '+', 'COUNT', 256)
local last = ''
for i = #after, 1, -1 do
  if after[i][2][2] ~= 'outcome' then
    last = after[i][1]
    break
  end
end
return {last, redis.call('HLEN', KEYS[3]), redis.call('EXISTS', KEYS[4]), redis.call('HGET', KEYS[1], 'state') or ''}`;

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

/** A snapshot and the log entries after its cursor: what one round of applying starts from. */
export interface ApplyState {
  base: Snapshot;
  entries: (LoggedEvent | UnreadableEvent)[];
}

/** What a commit did besides landing: for the engine's drain and compaction. */
export interface Committed {
  ok: boolean;
  /** Log entries in the stream after the commit. */
  logLength: number;
  /** Timer jobs this commit replaced or dropped, to remove from the timers queue. */
  cancels: string[];
  /** With `readLog`: what compaction reads, as of right after the commit. */
  log?: LogSnapshot;
}

/** The log as compaction sees it: the cursor, the last archived entry and the stream's entries. */
export interface LogSnapshot {
  cursor: string;
  archived: string;
  entries: RawEntry[];
}

/** The commit's timer bookkeeping, from the effects and the run the engine is committing. */
export interface TimerSlots {
  /** Job id of the deadline or expiry timer armed by this commit, or "". */
  D: string;
  /** Job id of the reminder armed by this commit, or "". */
  R: string;
  /** Drop timers this commit does not arm: the run left `active` or entered a new stage. */
  clear: boolean;
}

/** Everything committed but not yet enqueued. */
export interface OutboxEntries {
  effects: Effect[];
  /** Timer job ids to remove. */
  cancels: string[];
}

export interface CompactResult {
  archivedEntries: number;
  packedRun: boolean;
}

/**
 * Fingerprint of the Run schema: a record stored by a process with the same schema is read with
 * JSON.parse alone (it was written from a Run); any other record goes through `Run.parse`.
 */
let runSchemaTag: string | null = null;
function schemaTag(): string {
  if (runSchemaTag === null) {
    try {
      const schema = JSON.stringify(z.toJSONSchema(Run, { io: "input", unrepresentable: "any" }));
      runSchemaTag = createHash("sha1").update(schema).digest("base64url").slice(0, 10);
    } catch {
      runSchemaTag = "";
    }
  }
  return runSchemaTag;
}

type ScriptName = "conveyorReadState" | "conveyorAppend" | "conveyorCommit" | "conveyorAppendCommit" | "conveyorReadLog" | "conveyorCompact" | "conveyorProbe";

/**
 * Runs, their event logs and outboxes in Redis. One issue has at most one live run; the run
 * record carries a version and every commit checks it (optimistic concurrency), so any number
 * of workers can apply events and none of them loses an update.
 */
export class RunStore {
  /** Repository settings this process wrote last, per repository (see `index`). */
  private readonly repoSettingsWritten = new Map<number, string>();

  constructor(
    readonly redis: Redis,
    readonly keys: Keys,
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection.
    redis.defineCommand("conveyorReadState", { numberOfKeys: 4, lua: READ_STATE });
    redis.defineCommand("conveyorAppend", { numberOfKeys: 5, lua: APPEND });
    redis.defineCommand("conveyorCommit", { numberOfKeys: 4, lua: COMMIT });
    redis.defineCommand("conveyorAppendCommit", { numberOfKeys: 5, lua: APPEND_COMMIT });
    redis.defineCommand("conveyorReadLog", { numberOfKeys: 2, lua: READ_LOG });
    redis.defineCommand("conveyorCompact", { numberOfKeys: 4, lua: COMPACT });
    redis.defineCommand("conveyorProbe", { numberOfKeys: 4, lua: PROBE });
  }

  private script(name: ScriptName | `${ScriptName}Buffer`, ...args: (string | number | Buffer)[]): Promise<unknown> {
    return (this.redis as unknown as Record<string, (...a: (string | number | Buffer)[]) => Promise<unknown>>)[name]!(...args);
  }

  async append(key: IssueKey, event: PipelineEvent, options: { source: string; requiresRun: boolean }): Promise<AppendResult> {
    const reply = (await this.appendScript(key, event, options, 0)) as [string, string?];
    if (reply[0] === "appended") return { status: "appended", entryId: reply[1]! };
    return { status: reply[0] as "duplicate" | "no-run" };
  }

  /**
   * Appends like `append`, and answers what an applier would read next in the same round trip
   * (null for no-run). `known`: the run the caller holds, not sent again if it is still current.
   */
  async appendAndRead(
    key: IssueKey,
    event: PipelineEvent,
    options: { source: string; requiresRun: boolean },
    limit = 100,
    known: Run | null = null,
    acks: string[] = [],
  ): Promise<{ result: AppendResult; state: ApplyState | null }> {
    return this.appendReply((await this.appendScript(key, event, options, limit, known, acks)) as Buffer[], known);
  }

  private appendReply(reply: Buffer[], known: Run | null): { result: AppendResult; state: ApplyState | null } {
    const status = reply[0]!.toString();
    if (status === "no-run") return { result: { status: "no-run" }, state: null };
    const result: AppendResult = status === "appended" ? { status: "appended", entryId: reply[1]!.toString() } : { status: "duplicate" };
    const [version, cursor, schema, record, entries] = reply.slice(2) as [Buffer, Buffer, Buffer, Buffer, unknown];
    return { result, state: this.toApplyState(version, cursor, schema, record, entries as [Buffer, Buffer[]][], known) };
  }

  private appendScript(
    key: IssueKey,
    event: PipelineEvent,
    options: { source: string; requiresRun: boolean },
    limit: number,
    known: Run | null = null,
    acks: string[] = [],
  ): Promise<unknown> {
    const args = [...this.appendArgs(key, event, options, limit, known), ...acks];
    // Replies with a run record come as bytes: a waiting run's record is compressed.
    return limit > 0 ? this.script("conveyorAppendBuffer", ...args) : this.script("conveyorAppend", ...args);
  }

  /** APPEND's keys and ARGV[1..10]. */
  private appendArgs(key: IssueKey, event: PipelineEvent, options: { source: string; requiresRun: boolean }, limit: number, known: Run | null): (string | number)[] {
    return [
      this.keys.meta(key),
      this.keys.log(key),
      this.keys.seen(key),
      this.keys.run(key),
      this.keys.outbox(key),
      event.type,
      JSON.stringify(event),
      options.source,
      digest(options.source),
      Date.now(),
      SEEN_TTL_SECONDS * 1000,
      options.requiresRun ? "1" : "0",
      limit,
      known?.id ?? "",
      known ? String(known.version) : "",
    ];
  }

  async load(key: IssueKey): Promise<Snapshot> {
    return (await this.readState(key, 0)).base;
  }

  /**
   * The snapshot and up to `limit` log entries after its cursor, read in one step. `known`: a run
   * the caller holds, used instead of reading and parsing the record again if it is still current;
   * `acks`: outbox entries (as `ackOutbox` names them) to acknowledge in the same step.
   */
  async readState(key: IssueKey, limit = 100, known: Run | null = null, acks: string[] = []): Promise<ApplyState> {
    const reply = (await this.script(
      "conveyorReadStateBuffer",
      this.keys.meta(key),
      this.keys.run(key),
      this.keys.log(key),
      this.keys.outbox(key),
      limit,
      known?.id ?? "",
      known ? String(known.version) : "",
      ...acks,
    )) as [Buffer, Buffer, Buffer, Buffer, [Buffer, Buffer[]][]];
    return this.toApplyState(...reply, known);
  }

  private toApplyState(version: Buffer, cursor: Buffer, schema: Buffer, record: Buffer, entries: [Buffer, Buffer[]][], known: Run | null): ApplyState {
    let run: Run | null = null;
    if (record.length === 1 && record[0] === 0x3d /* "=" */) run = known;
    else if (record.length) run = parseRun(unpackRecord(record), schema.toString());
    const base: Snapshot = { run, version: Number(version.toString()), cursor: cursor.toString() };
    const events: (LoggedEvent | UnreadableEvent)[] = [];
    for (const [id, fields] of entries) {
      const entry = parseEntrySafely(
        id.toString(),
        fields.map((field) => field.toString()),
      );
      if (entry.kind === "event" || entry.kind === "unreadable") events.push(entry);
    }
    return { base, entries: events };
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

  async commit(key: IssueKey, base: Snapshot, next: { run: Run | null; cursor: string; outcomes: Outcome[]; effects: Effect[] }): Promise<boolean> {
    return (await this.commitWith(key, base, next)).ok;
  }

  /**
   * `commit`, answering what the engine needs next; `timers` tells which timer jobs the run keeps,
   * `readLog` asks for what compaction reads (for a run that now waits).
   */
  async commitWith(key: IssueKey, base: Snapshot, next: Commit & { cursor: string; acks?: string[] }): Promise<Committed> {
    const [fields, rest] = commitArgs(base, next);
    const acks = next.acks ?? [];
    const reply = (await this.script("conveyorCommit", this.keys.meta(key), this.keys.log(key), this.keys.outbox(key), this.keys.run(key), ...fields, acks.length, ...acks, ...rest)) as CommitReply;
    if (reply[0] !== 1) return { ok: false, logLength: 0, cancels: [] };
    return committed(reply, next.cursor, next.readLog);
  }

  /**
   * Appends an effect's or timer's result and, when `known` is still the stored run and no other
   * event waits before it, commits `next` (decided from `known`, outcomes' `of` left "") in the
   * same round trip. Otherwise it is only appended, and the answer is what an applier reads next
   * (`appendAndRead`'s).
   */
  async appendAndCommit(
    key: IssueKey,
    event: PipelineEvent,
    options: { source: string; requiresRun: boolean },
    known: Run,
    next: Commit,
    acks: string[] = [],
    limit = 100,
  ): Promise<{ result: AppendResult; committed: Committed } | { result: AppendResult; state: ApplyState | null }> {
    const [fields, rest] = commitArgs({ run: known, version: known.version, cursor: "" }, { ...next, cursor: "" });
    const reply = (await this.script("conveyorAppendCommitBuffer", ...this.appendArgs(key, event, options, limit, known), acks.length, ...acks, ...fields, ...rest)) as Buffer[];
    const status = reply[0]!.toString();
    if (status === "committed") {
      const entryId = reply[1]!.toString();
      const [logLength, cancels, archived, entries] = reply.slice(2) as unknown as [number, Buffer[], Buffer, [Buffer, Buffer[]][]];
      const asText: CommitReply = [1, logLength, cancels.map(String), archived.toString(), entries.map(([id, f]): RawEntry => [id.toString(), f.map(String)])];
      return { result: { status: "appended", entryId }, committed: committed(asText, entryId, next.readLog) };
    }
    return this.appendReply(reply, known);
  }

  async outbox(key: IssueKey): Promise<Effect[]> {
    return (await this.outboxEntries(key)).effects;
  }

  async outboxEntries(key: IssueKey): Promise<OutboxEntries> {
    const all = await this.redis.hgetall(this.keys.outbox(key));
    const effects: Effect[] = [];
    const cancels: string[] = [];
    for (const [field, json] of Object.entries(all)) {
      if (field.startsWith("-")) cancels.push(field.slice(1));
      else effects.push(JSON.parse(json) as Effect);
    }
    return { effects, cancels };
  }

  async ackOutbox(key: IssueKey, effectIds: string[], cancels: string[] = []): Promise<void> {
    const fields = outboxFields(effectIds, cancels);
    if (fields.length) await this.redis.hdel(this.keys.outbox(key), ...fields);
  }

  /** `ackOutbox` for many issues in one round trip (fields as `outboxFields` names them). */
  async ackOutboxes(pending: [IssueKey, string[]][]): Promise<void> {
    if (pending.length < 3) {
      await Promise.all(pending.map(([key, fields]) => this.ackOutbox(key, fields)));
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const [key, fields] of pending) if (fields.length) pipeline.hdel(this.keys.outbox(key), ...fields);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  /**
   * Indexes outside the issue's slot, written after the commit: only what changed since
   * `previous` (the run as the commit found it), so most commits write nothing here.
   */
  async index(run: Run, previous: Run | null = null, options: { keepActive?: boolean } = {}): Promise<void> {
    const key = issueKey(run.repo.id, run.issue.number);
    const fresh = previous === null || previous.id !== run.id;
    const terminal = TERMINAL_STATES.includes(run.state);
    const writes: Promise<unknown>[] = [];
    if (fresh) writes.push(this.redis.zadd(this.keys.all(), "NX", Date.parse(run.createdAt), key));
    if (fresh || terminal !== TERMINAL_STATES.includes(previous.state)) {
      // keepActive: the engine removes a finished run itself, once its last effects are enqueued.
      if (!terminal) writes.push(this.redis.zadd(this.keys.active(), Date.parse(run.updatedAt), key));
      else if (!options.keepActive) writes.push(this.redis.zrem(this.keys.active(), key));
    }
    if (run.pr && (fresh || previous.pr?.number !== run.pr.number)) {
      writes.push(this.redis.hset(this.keys.pullRequests(run.repo.id, run.pr.number), String(run.pr.number), String(run.issue.number)));
    }
    // The workflow run index routes the implementer's workflow_run webhook; once the run left
    // implement, the run name (and decide) handle late ones.
    const implementing = (r: Run | null) => (r && r.stage === "implement" ? r.workflowRunId : null);
    const now = implementing(run);
    const before = fresh ? null : implementing(previous);
    if (now !== before) {
      if (before !== null) writes.push(this.redis.del(this.keys.workflowRun(before)));
      if (now !== null) writes.push(this.redis.set(this.keys.workflowRun(now), key, "EX", WORKFLOW_RUN_INDEX_SECONDS));
    }
    if (run.config && (fresh || run.config.label !== previous.config?.label || run.config.commandPrefix !== previous.config?.commandPrefix)) {
      // Most runs of a repository carry the settings this process wrote last: skip those.
      const settings = `${run.config.label}\n${run.config.commandPrefix}`;
      if (this.repoSettingsWritten.get(run.repo.id) !== settings) {
        writes.push(this.redis.hset(this.keys.repoSettings(run.repo.id), "label", run.config.label, "commandPrefix", run.config.commandPrefix));
        this.repoSettingsWritten.set(run.repo.id, settings);
        if (this.repoSettingsWritten.size > 10_000) this.repoSettingsWritten.clear();
      }
    }
    await Promise.all(writes);
  }

  async issueOfPullRequest(repoId: number, pr: number): Promise<IssueKey | null> {
    const issue = await this.redis.hget(this.keys.pullRequests(repoId, pr), String(pr));
    return issue === null ? null : issueKey(repoId, Number(issue));
  }

  async issueOfWorkflowRun(workflowRunId: number): Promise<IssueKey | null> {
    return this.redis.get(this.keys.workflowRun(workflowRunId));
  }

  /**
   * The issue whose run owns a branch. Conveyor names its branches `conveyor/<issue>-<slug>`
   * (pipeline/implementer.ts), so the name says the issue and the run record confirms it: an
   * index that costs no bytes.
   */
  async issueOfBranch(repoId: number, branch: string): Promise<IssueKey | null> {
    const match = /^conveyor\/(\d+)(?:-|$)/.exec(branch);
    if (!match) return null;
    const key = issueKey(repoId, Number(match[1]));
    const { run } = await this.load(key);
    return run?.pr?.branch === branch ? key : null;
  }

  /** The trigger label and command prefix the repository's config named when last loaded. */
  async repoSettings(repoId: number): Promise<{ label: string | null; commandPrefix: string | null }> {
    const [label, commandPrefix] = await this.redis.hmget(this.keys.repoSettings(repoId), "label", "commandPrefix");
    return { label: label ?? null, commandPrefix: commandPrefix ?? null };
  }

  async activeIssues(limit = 1000, offset = 0): Promise<IssueKey[]> {
    return this.redis.zrange(this.keys.active(), String(offset), String(offset + limit - 1));
  }

  /**
   * For the sweep: per issue, the id of the last logged event after the cursor, when one waits
   * to be applied (else ""), the outbox's size, whether a run record exists, and its state.
   */
  async probe(keys: IssueKey[]): Promise<{ key: IssueKey; unapplied: string; queued: number; hasRun: boolean; state: string }[]> {
    const replies = await Promise.all(
      keys.map((key) => this.script("conveyorProbe", this.keys.meta(key), this.keys.log(key), this.keys.outbox(key), this.keys.run(key)) as Promise<[string, number, number, string]>),
    );
    return replies.map(([unapplied, queued, hasRun, state], i) => ({ key: keys[i]!, unapplied, queued, hasRun: hasRun === 1, state }));
  }

  /** The whole timeline: archived entries, then the stream's (read together, so a compaction in between loses none). */
  async history(key: IssueKey): Promise<LogEntry[]> {
    const [[archiveError, archive], [logError, stream]] = (await this.redis.multi().getBuffer(this.keys.archive(key)).xrange(this.keys.log(key), "-", "+").exec()) as [
      [Error | null, Buffer | null],
      [Error | null, RawEntry[]],
    ];
    if (archiveError) throw archiveError;
    if (logError) throw logError;
    const archived = unpackArchive(archive);
    const last = archived.at(-1)?.[0];
    const live = last ? stream.filter(([id]) => compareStreamIds(id, last) > 0) : stream;
    return [...archived, ...live].map(([entryId, fields]) => parseEntrySafely(entryId, fields));
  }

  /**
   * Moves applied log entries (events up to the cursor and the outcomes around them) into the
   * compressed archive and trims them from the stream; with `run`, also stores the run's record
   * compressed (when it is still at that version). Safe under concurrent appends, commits and
   * compactions: see COMPACT.
   */
  async compact(key: IssueKey, run: Run | null = null, read: LogSnapshot | null = null): Promise<CompactResult> {
    const { cursor, archived, entries } = read ?? (await this.readLog(key));
    let take = 0;
    let lastEvent = "";
    for (const [id, fields] of entries) {
      const isEvent = kindOf(fields) !== "outcome";
      if (isEvent) {
        if (compareStreamIds(id, cursor) > 0) break;
        lastEvent = id;
      }
      take++;
    }
    const moved = entries.slice(0, take);
    const last = moved.at(-1)?.[0] ?? "";
    const runBlob = run ? packRecord(JSON.stringify(run)) : "";
    if (!last && !runBlob) return { archivedEntries: 0, packedRun: false };
    const reply = (await this.script(
      "conveyorCompact",
      this.keys.meta(key),
      this.keys.log(key),
      this.keys.archive(key),
      this.keys.run(key),
      archived,
      last,
      last ? nextStreamId(last) : "",
      lastEvent,
      last ? packArchiveFrame(moved) : "",
      run ? String(run.version) : "",
      run?.id ?? "",
      runBlob,
    )) as [number, number];
    return { archivedEntries: reply[0] === 1 ? moved.length : 0, packedRun: reply[1] === 1 };
  }

  private async readLog(key: IssueKey, limit = 1000): Promise<LogSnapshot> {
    const [cursor, archived, entries] = (await this.script("conveyorReadLog", this.keys.meta(key), this.keys.log(key), limit)) as [string, string, RawEntry[]];
    return { cursor, archived, entries };
  }

  /** Sets a ledger field unless it exists; true when this call set it. */
  async ledgerSetNew(key: IssueKey, field: string, value: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.ledger(key), ledgerField(key, field), value)) === 1;
  }

  async ledgerGet(key: IssueKey, field: string): Promise<string | null> {
    return this.redis.hget(this.keys.ledger(key), ledgerField(key, field));
  }

  /** Sets a ledger field; `drop`: fields it supersedes, removed in the same step. */
  async ledgerSet(key: IssueKey, field: string, value: string, options: { drop?: string[] } = {}): Promise<void> {
    const ledger = this.keys.ledger(key);
    if (!options.drop?.length) {
      await this.redis.hset(ledger, ledgerField(key, field), value);
      return;
    }
    const multi = this.redis
      .multi()
      .hset(ledger, ledgerField(key, field), value)
      .hdel(ledger, ...options.drop.map((name) => ledgerField(key, name)));
    for (const [error] of (await multi.exec()) ?? []) if (error) throw error;
  }

  async ledgerDelete(key: IssueKey, fields: string[]): Promise<void> {
    if (fields.length > 0) await this.redis.hdel(this.keys.ledger(key), ...fields.map((name) => ledgerField(key, name)));
  }

  /** A short exclusive claim (e.g. "I am creating the status comment"); expires by itself. */
  async claim(key: IssueKey, name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.claim(key, name), holder, "PX", ttlMs, "NX")) === "OK";
  }

  async release(key: IssueKey, name: string): Promise<void> {
    await this.redis.del(this.keys.claim(key, name));
  }
}

/** What a commit writes besides the cursor (decided by the engine from the run it read). */
export interface Commit {
  run: Run | null;
  outcomes: Outcome[];
  effects: Effect[];
  /** Which timer jobs the run keeps (engine.planTimers); none change when absent. */
  timers?: TimerSlots;
  /** Also answer what compaction reads (for a run that now waits). */
  readLog?: boolean;
}

type CommitReply = [number, number?, string[]?, string?, RawEntry[]?];

/** COMMIT_WRITES' field block (ARGV[f..f+11]) and what follows the acks: outcomes, then effects. */
function commitArgs(base: Snapshot, next: Commit & { cursor: string }): [(string | number)[], (string | number)[]] {
  const changed = next.run !== null && next.run !== base.run;
  const timers = next.timers ?? { D: "", R: "", clear: false };
  const fields = [
    String(base.version),
    base.cursor,
    next.cursor,
    changed ? JSON.stringify(next.run) : "",
    next.run?.version ?? 0,
    next.run?.state ?? "",
    next.run?.id ?? "",
    schemaTag(),
    timers.D,
    timers.R,
    timers.clear ? "1" : "0",
    next.readLog ? "1" : "0",
  ];
  const rest = [next.outcomes.length, ...next.outcomes.map((outcome) => JSON.stringify(outcome)), ...next.effects.flatMap((effect) => [effect.id, JSON.stringify(effect)])];
  return [fields, rest];
}

function committed(reply: CommitReply, cursor: string, readLog: boolean | undefined): Committed {
  return {
    ok: true,
    logLength: reply[1]!,
    cancels: reply[2]!,
    ...(readLog ? { log: { cursor, archived: reply[3]!, entries: reply[4]! } } : {}),
  };
}

/** The outbox fields of effects and of timer jobs to cancel (what `ackOutbox` removes). */
export function outboxFields(effectIds: string[], cancels: string[] = []): string[] {
  return [...effectIds, ...cancels.map((job) => `-${job}`)];
}

/**
 * Ledger field names as stored: the issue's own key is implied by the hash, so `<issue>-` inside
 * a name (run ids) is written `~`, and a name still over 64 bytes becomes a digest, so the hash
 * stays listpack-encoded. Callers always use the full name.
 */
export function ledgerField(key: IssueKey, field: string): string {
  const short = field.split(`${key}-`).join("~");
  return Buffer.byteLength(short) <= 64 ? short : `#${digest(field, 22)}`;
}

function parseRun(json: string, schema: string): Run {
  const tag = schemaTag();
  return tag && schema === tag ? (JSON.parse(json) as Run) : Run.parse(JSON.parse(json));
}

function kindOf(fields: string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "kind") return fields[i + 1];
  return undefined;
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
