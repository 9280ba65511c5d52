import type { MisfirePolicy, OverlapPolicy } from "./schema.js";

// Misfire and overlap policy as pure decisions: the caller passes the clock's reading and the
// schedule's due times, so tests can jump the clock without sleeping.

/** A tick this close to its due time is on time; later, it is a misfire. */
export const DEFAULT_GRACE_MS = 60_000;
/** A tick arriving earlier than this before its due time waits (the clock jumped back). */
export const EARLY_TOLERANCE_MS = 1_000;
/** Catch-up fires at most this many missed times per tick (the newest ones). */
export const MAX_CATCH_UP = 20;

export interface TickInput {
  /** The due time the scheduler's job was made for. */
  scheduledFor: number;
  /** The clock's reading now. */
  now: number;
  /** Due times not handled yet, in (last handled, now], oldest first (from `dueTimesBetween`). */
  due: readonly number[];
  /** Older due times left out of `due` because there were too many. */
  truncated?: number;
  policy: MisfirePolicy;
  /** For catch-up: how far back missed times still fire. */
  windowMs: number;
  graceMs?: number;
  maxCatchUp?: number;
}

export type TickPlan =
  /** The tick came before its time (the clock went back): wait until then. */
  | { kind: "wait"; until: number }
  /** Fire these due times (oldest first); the others are missed and only logged. */
  | { kind: "fire"; fire: number[]; missed: number[]; missedUnlisted: number; late: boolean };

export function planTick(input: TickInput): TickPlan {
  const grace = input.graceMs ?? DEFAULT_GRACE_MS;
  if (input.scheduledFor - input.now > EARLY_TOLERANCE_MS) return { kind: "wait", until: input.scheduledFor };
  const due = [...input.due].sort((a, b) => a - b);
  const missedUnlisted = input.truncated ?? 0;
  if (due.length === 0) return { kind: "fire", fire: [], missed: [], missedUnlisted, late: false };
  const latest = due.at(-1)!;
  const late = input.now - latest > grace || due.length > 1 || missedUnlisted > 0;
  let fire: number[];
  switch (input.policy) {
    case "skip":
      // Only a due time the tick reached in time fires; everything missed stays missed.
      fire = input.now - latest <= grace ? [latest] : [];
      break;
    case "run-once":
      fire = [latest];
      break;
    case "catch-up":
      fire = due.filter((time) => input.now - time <= input.windowMs).slice(-(input.maxCatchUp ?? MAX_CATCH_UP));
      break;
  }
  const firing = new Set(fire);
  return { kind: "fire", fire, missed: due.filter((time) => !firing.has(time)), missedUnlisted, late };
}

export type OverlapDecision =
  | { kind: "fire" }
  | { kind: "skip"; reason: string }
  /** Keep this firing waiting until the previous tasks finish; check again at `retryAt`. */
  | { kind: "wait"; reason: string }
  | { kind: "drop"; reason: string };

export interface OverlapInput {
  policy: OverlapPolicy;
  /** Tasks of the previous firing still running. */
  busy: number;
  /** The firing key holding the one buffer slot, if any. */
  buffered: string | null;
  /** This firing's key. */
  firing: string;
}

export function decideOverlap(input: OverlapInput): OverlapDecision {
  if (input.busy === 0 || input.policy === "allow") return { kind: "fire" };
  const why = `${input.busy} task${input.busy === 1 ? "" : "s"} of the previous firing still running`;
  if (input.policy === "skip") return { kind: "skip", reason: `${why} (overlap: skip)` };
  if (input.buffered === null || input.buffered === input.firing) return { kind: "wait", reason: `${why}; buffered (overlap: buffer-one)` };
  return { kind: "drop", reason: `${why} and another firing is already buffered (overlap: buffer-one)` };
}

export interface TaskState {
  /** The run's state; null when no run exists (yet) for the task's issue. */
  state: string | null;
  spawnedAt: number;
}

/** A task whose run has not appeared after this long is not waited for any more. */
export const PENDING_TASK_GRACE_MS = 60 * 60_000;

/** How many of a firing's tasks still run: a live run, or no run yet but spawned recently. */
export function busyTasks(tasks: readonly TaskState[], now: number, terminal: readonly string[], pendingGraceMs = PENDING_TASK_GRACE_MS): number {
  return tasks.filter((task) => (task.state === null ? now - task.spawnedAt < pendingGraceMs : !terminal.includes(task.state))).length;
}
