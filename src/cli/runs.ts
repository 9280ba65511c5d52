import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { OperatorCommandName } from "../pipeline/events.js";
import { RunState, type Run } from "../pipeline/run.js";
import { Engine } from "../queue/engine.js";
import { issueKeyOfRunId, Keys, type IssueKey } from "../queue/keys.js";
import { createQueues } from "../queue/queues.js";
import { submitOperatorCommand } from "../queue/operator.js";
import { connectRedis } from "../queue/redis.js";
import { RunStore, type LogEntry, type Outcome } from "../queue/run-store.js";

export const RUNS_USAGE = `Usage: conveyor runs <command> [options]

  list [--state S] [--repo OWNER/NAME] [--limit N] [--json]   runs, newest first
  show <run> [--json]                                           a run and its timeline
  retry <run> [stage] [--as NAME]                               run a parked or failed run's stage again
  pause <run> [--as NAME]                                       hold an active run
  resume <run> [--as NAME]                                      go on from where a paused run was
  cancel <run> [--as NAME]                                      stop a run

  <run> is a run id (<repoId>-<issue>-<n>), an issue key (<repoId>-<issue>) or OWNER/NAME#ISSUE.
  Reads REDIS_URL and CONVEYOR_PREFIX (default conveyor).

Exit codes: 0 done, 1 refused or not found, 2 usage error.`;

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/** How many runs `list` reads before filtering: enough for an operator, bounded for Redis. */
const LIST_SCAN = 2000;

class UsageError extends Error {
  override name = "UsageError";
}

export async function runsCommand(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "help" || sub === "--help" || sub === "-h") {
    (sub ? io.out : io.err)(RUNS_USAGE);
    return sub ? 0 : 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        state: { type: "string" },
        repo: { type: "string" },
        limit: { type: "string" },
        json: { type: "boolean", default: false },
        as: { type: "string" },
      },
    });
  } catch (error) {
    io.err(`conveyor runs: ${(error as Error).message}\n\n${RUNS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const redisUrl = io.env.REDIS_URL;
  if (!redisUrl) {
    io.err("conveyor runs: REDIS_URL is not set (the Redis Conveyor runs on, e.g. redis://127.0.0.1:6390)");
    return 2;
  }
  const prefix = io.env.CONVEYOR_PREFIX || "conveyor";
  try {
    if (sub === "list") {
      if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      if (values.state !== undefined && !RunState.safeParse(values.state).success) throw new UsageError(`--state must be one of ${RunState.options.join(", ")}`);
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit must be a positive integer");
      return await withStore(redisUrl, prefix, (store) => list(store, io, { state: values.state, repo: values.repo, limit, json: values.json }));
    }
    if (sub === "show") {
      if (positionals.length !== 1) throw new UsageError("show takes one run");
      return await withStore(redisUrl, prefix, (store) => show(store, io, positionals[0]!, values.json));
    }
    const command = OperatorCommandName.safeParse(sub);
    if (command.success) {
      const [target, ...args] = positionals;
      if (!target) throw new UsageError(`${sub} takes a run`);
      if (command.data !== "retry" && args.length) throw new UsageError(`${sub} takes no arguments after the run`);
      if (args.length > 1) throw new UsageError("retry takes at most one stage");
      const operator = values.as ?? safeUser(io.env);
      return await withStore(redisUrl, prefix, (store, redis) => act(store, redis, prefix, io, { target, command: command.data, args, operator, json: values.json }));
    }
    throw new UsageError(`unknown command "${sub}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`conveyor runs: ${error.message}\n\n${RUNS_USAGE}`);
      return 2;
    }
    io.err(`conveyor runs: ${(error as Error).message}`);
    return 1;
  }
}

function safeUser(env: NodeJS.ProcessEnv): string {
  try {
    return env.USER || userInfo().username || "operator";
  } catch {
    return "operator";
  }
}

async function withStore<T>(url: string, prefix: string, body: (store: RunStore, redis: Redis) => Promise<T>): Promise<T> {
  const redis = await connectRedis(url);
  try {
    return await body(new RunStore(redis, new Keys(prefix)), redis);
  } finally {
    redis.disconnect();
  }
}

/** A run id, an issue key or OWNER/NAME#ISSUE → the issue key (null: no such run). */
async function resolve(store: RunStore, target: string): Promise<{ key: IssueKey; runId: string | null } | null> {
  if (/^\d+-\d+-\d+$/.test(target)) return { key: issueKeyOfRunId(target), runId: target };
  if (/^\d+-\d+$/.test(target)) return { key: target, runId: null };
  const match = /^([\w.-]+)\/([\w.-]+)#(\d+)$/.exec(target);
  if (!match) throw new UsageError(`"${target}" is not a run id, issue key or OWNER/NAME#ISSUE`);
  const [, owner, name, issue] = match;
  for (const key of await store.redis.zrevrange(store.keys.all(), 0, LIST_SCAN - 1)) {
    if (!key.endsWith(`-${issue}`)) continue;
    const { run } = await store.load(key);
    if (run && run.repo.owner.toLowerCase() === owner!.toLowerCase() && run.repo.name.toLowerCase() === name!.toLowerCase()) return { key, runId: null };
  }
  return null;
}

async function loadTarget(store: RunStore, io: CliIO, target: string): Promise<{ key: IssueKey; run: Run } | null> {
  const resolved = await resolve(store, target);
  const run = resolved ? (await store.load(resolved.key)).run : null;
  if (!resolved || !run) {
    io.err(`conveyor runs: no run ${target}`);
    return null;
  }
  if (resolved.runId && resolved.runId !== run.id) {
    io.err(`conveyor runs: run ${resolved.runId} was replaced by run ${run.id} of the same issue`);
    return null;
  }
  return { key: resolved.key, run };
}

export interface RunRow {
  id: string;
  repo: string;
  issue: number;
  title: string;
  stage: string;
  state: string;
  round: number;
  tokens: number;
  pr: number | null;
  createdAt: string;
  updatedAt: string;
}

export function runRow(run: Run): RunRow {
  return {
    id: run.id,
    repo: `${run.repo.owner}/${run.repo.name}`,
    issue: run.issue.number,
    title: run.issue.title,
    stage: run.stage,
    state: run.state,
    round: run.round,
    tokens: run.tokens,
    pr: run.pr?.number ?? null,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
  };
}

/** Runs newest first, filtered by state and repository (OWNER/NAME or the numeric id). */
export async function listRuns(store: RunStore, filter: { state?: string; repo?: string; limit: number }): Promise<Run[]> {
  const keys = await store.redis.zrevrange(store.keys.all(), 0, LIST_SCAN - 1);
  const runs: Run[] = [];
  for (let i = 0; i < keys.length && runs.length < filter.limit; i += 100) {
    const batch = await Promise.all(keys.slice(i, i + 100).map((key) => store.load(key).then((snapshot) => snapshot.run, () => null)));
    for (const run of batch) {
      if (!run || runs.length >= filter.limit) continue;
      if (filter.state && run.state !== filter.state) continue;
      if (filter.repo && filter.repo.toLowerCase() !== `${run.repo.owner}/${run.repo.name}`.toLowerCase() && filter.repo !== String(run.repo.id)) continue;
      runs.push(run);
    }
  }
  return runs;
}

async function list(store: RunStore, io: CliIO, options: { state?: string; repo?: string; limit: number; json: boolean }): Promise<number> {
  const runs = await listRuns(store, options);
  if (options.json) {
    io.out(JSON.stringify(runs.map(runRow)));
    return 0;
  }
  if (runs.length === 0) {
    io.out("no runs");
    return 0;
  }
  const now = Date.now();
  const rows = [
    ["RUN", "REPO", "ISSUE", "STAGE", "ROUND", "STATE", "AGE", "TOKENS"],
    ...runs.map((run) => [run.id, `${run.repo.owner}/${run.repo.name}`, `#${run.issue.number}`, run.stage, String(run.round), run.state, age(now - Date.parse(run.createdAt)), String(run.tokens)]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) io.out(row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd());
  return 0;
}

export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export interface TimelineItem {
  entryId: string;
  at: string | null;
  type: string;
  source: string | null;
  applied: boolean | null;
  reason: string | null;
  stage: string | null;
  state: string | null;
  effects: string[];
}

/** The event log as a timeline: each event with what applying it did (null while pending). */
export function timeline(entries: LogEntry[]): TimelineItem[] {
  const outcomes = new Map<string, Outcome>();
  for (const entry of entries) if (entry.kind === "outcome") outcomes.set(entry.outcome.of, entry.outcome);
  return entries.flatMap((entry): TimelineItem[] => {
    if (entry.kind === "outcome") return [];
    const outcome = outcomes.get(entry.entryId);
    const base = { entryId: entry.entryId, applied: outcome?.applied ?? null, reason: outcome?.reason ?? null, stage: outcome?.stage ?? null, state: outcome?.state ?? null, effects: outcome?.effects ?? [] };
    if (entry.kind === "unreadable") return [{ ...base, at: null, type: "unreadable", source: null, reason: entry.problem }];
    return [{ ...base, at: entry.event.at, type: entry.event.type, source: entry.source }];
  });
}

async function show(store: RunStore, io: CliIO, target: string, json: boolean): Promise<number> {
  const found = await loadTarget(store, io, target);
  if (!found) return 1;
  const { run, key } = found;
  const items = timeline(await store.history(key));
  if (json) {
    io.out(JSON.stringify({ run, timeline: items }));
    return 0;
  }
  io.out(`run ${run.id}  ${run.repo.owner}/${run.repo.name}#${run.issue.number}  ${run.issue.title}`);
  io.out(`  stage ${run.stage}, ${run.state}, round ${run.round}, ${run.tokens} tokens${run.pr ? `, PR #${run.pr.number} (${run.pr.branch} @ ${run.pr.headSha.slice(0, 7)})` : ""}`);
  io.out(`  started ${run.createdAt} by @${run.startedBy}, updated ${run.updatedAt}`);
  if (run.reason) io.out(`  why: ${run.reason.what}; next: ${run.reason.next}`);
  for (const review of run.reviews) io.out(`  review ${review.angle}: ${review.status}, ${review.total} findings, ${review.blocking} blocking${review.error ? ` (${review.error})` : ""}`);
  io.out("");
  io.out("timeline:");
  for (const item of items) {
    const mark = item.applied === null ? "…" : item.applied ? "✓" : "✗";
    const where = item.stage ? ` → ${item.stage}/${item.state}` : "";
    io.out(`  ${item.at ?? "?"}  ${mark} ${item.type}${where}${item.reason ? `  ${item.reason}` : "  (not applied yet)"}`);
  }
  return 0;
}

async function act(
  store: RunStore,
  redis: Redis,
  prefix: string,
  io: CliIO,
  request: { target: string; command: OperatorCommandName; args: string[]; operator: string; json: boolean },
): Promise<number> {
  const found = await loadTarget(store, io, request.target);
  if (!found) return 1;
  const { key, run } = found;
  const queues = createQueues(redis, `{${prefix}}`);
  try {
    const engine = new Engine(store, queues, pino({ level: "silent" }));
    const result = await submitOperatorCommand(engine, key, run, request);
    const outcome = result.entryId ? timeline(await store.history(key)).find((item) => item.entryId === result.entryId) : undefined;
    if (request.json) io.out(JSON.stringify({ run: result.run && runRow(result.run), status: result.status, reason: result.reason, outcome }));
    if (result.status === "pending") {
      io.err(`conveyor runs: ${request.command} was logged for run ${run.id} but not applied yet; a worker will apply it`);
      return 1;
    }
    if (result.status === "refused") {
      if (!request.json) io.err(`conveyor runs: ${request.command} refused: ${result.reason}`);
      return 1;
    }
    if (!request.json) io.out(`${run.id}: ${result.reason} (now ${result.run?.stage}/${result.run?.state})`);
    return 0;
  } finally {
    await queues.close();
  }
}
