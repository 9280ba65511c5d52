import { z } from "zod";
import { CronExpressionParser } from "cron-parser";
import { TEMPLATE_PLACEHOLDERS, unknownPlaceholders } from "./template.js";

// The `schedules:` section of `.github/conveyor.yml`. Pure: no clock (validation computes cron
// intervals from a fixed reference date), no I/O. This module must not import
// src/pipeline/config.ts, which imports it.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

/** A duration such as "30m", "6h", "7d". */
export const ScheduleDuration = z.string().regex(DURATION, 'a duration such as "90s", "30m", "6h" or "7d"');

/** Milliseconds in a duration the schema already accepted. */
export function scheduleDurationMs(value: string): number {
  const match = DURATION.exec(value);
  if (!match) throw new Error(`schedules: "${value}" is not a duration such as "30m"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** The shortest period a schedule may have unless the operator sets another floor. */
export const DEFAULT_MIN_PERIOD_MS = 5 * 60_000;

/** Letters, digits, `-` and `_`: the id goes into BullMQ job ids (no `:`) and Redis keys. */
export const ScheduleId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "letters, digits, - and _ (at most 63), starting with a letter or digit");

export const MisfirePolicy = z.enum(["skip", "run-once", "catch-up"]);
export type MisfirePolicy = z.infer<typeof MisfirePolicy>;

export const OverlapPolicy = z.enum(["skip", "buffer-one", "allow"]);
export type OverlapPolicy = z.infer<typeof OverlapPolicy>;

/** Catch-up looks back at most this far unless the schedule names its own window. */
export const DEFAULT_CATCH_UP_WINDOW = "1d";

const template = (what: string, min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .superRefine((value, ctx) => {
      const unknown = unknownPlaceholders(value);
      if (unknown.length) ctx.addIssue({ code: "custom", message: `${what} uses unknown placeholder${unknown.length > 1 ? "s" : ""} ${unknown.map((p) => `{{${p}}}`).join(", ")}; known: ${TEMPLATE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")}` });
    });

/** Open one issue per firing, labelled with the trigger label so it starts a run. */
export const OpenIssueAction = z
  .object({
    /** Title template, e.g. "Dependency review {{date}}". */
    title: template("the title", 1, 256),
    /** Body template; {{summary}} is a short context summary (schedule, due time, previous firing). */
    body: template("the body", 0, 60_000).default("{{summary}}"),
    /** Extra labels besides the trigger label. */
    labels: z.array(z.string().min(1).max(50)).max(10).default([]),
  })
  .strict();
export type OpenIssueAction = z.infer<typeof OpenIssueAction>;

/** Add the trigger label to open issues a search finds (in this repository only), at most `limit`. */
export const LabelIssuesAction = z
  .object({
    /** GitHub issue search qualifiers, e.g. `label:dependencies no:assignee`; the repository and `is:issue is:open` are added. */
    query: z.string().min(1).max(256),
    limit: z.number().int().min(1).max(50).default(10),
  })
  .strict();
export type LabelIssuesAction = z.infer<typeof LabelIssuesAction>;

const ScheduleShape = z
  .object({
    id: ScheduleId,
    /** A cron expression (5 fields, or 6 with seconds), read in `timezone`. */
    cron: z.string().min(1).optional(),
    /** Or a fixed period ("6h"): fires at multiples of it since the Unix epoch. */
    every: ScheduleDuration.optional(),
    /** IANA time zone the cron is read in, e.g. Europe/Berlin. */
    timezone: z.string().min(1).default("UTC"),
    /** Each firing waits a random (but repeatable) delay up to this long, to spread load. */
    jitter: ScheduleDuration.default("0s"),
    enabled: z.boolean().default(true),
    /** Due times missed (workers down, clock jump): skip them, run once for the latest, or catch up on each within a window. */
    misfire: z.union([MisfirePolicy, z.object({ policy: MisfirePolicy, window: ScheduleDuration.optional() }).strict()]).default("run-once"),
    /** When the previous firing's tasks still run: skip this firing, keep one waiting, or fire anyway. */
    overlap: OverlapPolicy.default("skip"),
    openIssue: OpenIssueAction.optional(),
    labelIssues: LabelIssuesAction.optional(),
  })
  .strict();

export interface ScheduleRules {
  /** Shortest period allowed between two due times (cron or every). */
  minPeriodMs: number;
}

/** A schedule with its semantic checks; `rules` sets the period floor. */
export function scheduleSchema(rules: ScheduleRules = { minPeriodMs: DEFAULT_MIN_PERIOD_MS }) {
  return ScheduleShape.superRefine((schedule, ctx) => {
    if ((schedule.cron === undefined) === (schedule.every === undefined)) {
      ctx.addIssue({ code: "custom", path: ["cron"], message: "give exactly one of cron or every" });
      return;
    }
    if ((schedule.openIssue === undefined) === (schedule.labelIssues === undefined)) {
      ctx.addIssue({ code: "custom", path: ["openIssue"], message: "give exactly one action: openIssue or labelIssues" });
    }
    if (!isTimeZone(schedule.timezone)) {
      ctx.addIssue({ code: "custom", path: ["timezone"], message: `unknown time zone "${schedule.timezone}" (an IANA name such as Europe/Berlin or UTC)` });
      return;
    }
    let period: number;
    if (schedule.cron !== undefined) {
      const checked = cronPeriod(schedule.cron, schedule.timezone);
      if (typeof checked === "string") {
        ctx.addIssue({ code: "custom", path: ["cron"], message: checked });
        return;
      }
      period = checked;
    } else {
      period = scheduleDurationMs(schedule.every!);
      if (period <= 0) {
        ctx.addIssue({ code: "custom", path: ["every"], message: "must be longer than 0" });
        return;
      }
    }
    if (period < rules.minPeriodMs) {
      const what = schedule.cron !== undefined ? `cron "${schedule.cron}" fires every ${formatMs(period)}` : `every ${schedule.every}`;
      ctx.addIssue({ code: "custom", path: [schedule.cron !== undefined ? "cron" : "every"], message: `${what} is below the minimum period of ${formatMs(rules.minPeriodMs)}` });
    }
    if (scheduleDurationMs(schedule.jitter) >= period) {
      ctx.addIssue({ code: "custom", path: ["jitter"], message: `jitter ${schedule.jitter} must be shorter than the period (${formatMs(period)})` });
    }
  });
}

export const Schedule = scheduleSchema();
export type Schedule = z.infer<typeof Schedule>;

/** The list as RepoConfig validates it: every schedule valid and ids unique. */
export const Schedules = z.array(Schedule).superRefine((schedules, ctx) => {
  for (const id of duplicateIds(schedules.map((schedule) => schedule.id))) {
    ctx.addIssue({ code: "custom", message: `duplicate schedule id "${id}": ids must be unique` });
  }
});

export function misfireOf(schedule: Pick<Schedule, "misfire">): { policy: MisfirePolicy; windowMs: number } {
  const misfire = typeof schedule.misfire === "string" ? { policy: schedule.misfire } : schedule.misfire;
  return { policy: misfire.policy, windowMs: scheduleDurationMs(("window" in misfire && misfire.window) || DEFAULT_CATCH_UP_WINDOW) };
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// Validation is pure, so its results can be remembered: a config is validated again each time a
// run record is read, and stepping through a cron in a time zone costs milliseconds.
const periods = new Map<string, number | string>();
const MAX_REMEMBERED = 1000;

/** The shortest gap between consecutive due times of a cron (sampled from a fixed date), or why it is invalid. */
export function cronPeriod(cron: string, timezone: string): number | string {
  const key = `${timezone} ${cron}`;
  let period = periods.get(key);
  if (period === undefined) {
    period = measureCronPeriod(cron, timezone);
    if (periods.size >= MAX_REMEMBERED) periods.clear();
    periods.set(key, period);
  }
  return period;
}

function measureCronPeriod(cron: string, timezone: string): number | string {
  const fields = cron.trim().split(/\s+/).length;
  if (!cron.trim().startsWith("@") && (fields < 5 || fields > 6)) return `invalid cron "${cron}": expected 5 fields (minute hour day month weekday) or 6 with seconds`;
  try {
    // A fixed reference date: validation must not depend on today's date.
    const expression = CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date(Date.UTC(2025, 0, 1)), strict: false });
    let previous = expression.next().getTime();
    let shortest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 12 && expression.hasNext(); i++) {
      const next = expression.next().getTime();
      shortest = Math.min(shortest, next - previous);
      previous = next;
    }
    return Number.isFinite(shortest) ? shortest : 365 * 86_400_000;
  } catch (error) {
    return `invalid cron "${cron}": ${(error as Error).message}`;
  }
}

export function duplicateIds(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of ids) (seen.has(id) ? duplicates : seen).add(id);
  return [...duplicates];
}

export function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** One schedule's problems, named by its id (or its position when it has no usable id). */
export interface ScheduleProblem {
  /** The schedule's id when it has one (even an invalid schedule usually does). */
  id: string | null;
  /** Position in the `schedules:` list, from 0; null for a problem with the whole section. */
  index: number | null;
  messages: string[];
}

export interface ValidatedSchedules {
  schedules: Schedule[];
  problems: ScheduleProblem[];
}

/**
 * Validates each schedule on its own, so one bad schedule never keeps the others from
 * registering. Every schedule sharing a duplicated id is refused (which one was meant is a
 * guess), and each problem names the schedule.
 */
export function validateSchedules(raw: unknown, rules: ScheduleRules = { minPeriodMs: DEFAULT_MIN_PERIOD_MS }): ValidatedSchedules {
  if (raw === undefined || raw === null) return { schedules: [], problems: [] };
  if (!Array.isArray(raw)) return { schedules: [], problems: [{ id: null, index: null, messages: ["must be a list of schedules"] }] };
  const schema = scheduleSchema(rules);
  const rawIds = raw.map((entry) => (entry && typeof entry === "object" && typeof (entry as { id?: unknown }).id === "string" ? (entry as { id: string }).id : null));
  const duplicated = new Set(duplicateIds(rawIds.filter((id): id is string => id !== null)));
  const schedules: Schedule[] = [];
  const problems: ScheduleProblem[] = [];
  raw.forEach((entry, index) => {
    const id = rawIds[index] ?? null;
    const messages: string[] = [];
    if (id !== null && duplicated.has(id)) messages.push(`duplicate id "${id}": ${rawIds.filter((other) => other === id).length} schedules use it, so none of them is registered`);
    const parsed = schema.safeParse(entry);
    if (!parsed.success) messages.push(...parsed.error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message)));
    if (messages.length) problems.push({ id, index, messages });
    else if (parsed.success) schedules.push(parsed.data);
  });
  return { schedules, problems };
}

/** `schedule "nightly" (schedules[2]): cron: invalid cron …`, one line per problem. */
export function describeScheduleProblems(problems: readonly ScheduleProblem[]): string[] {
  return problems.flatMap((problem) => {
    const where = problem.id !== null ? `schedule "${problem.id}"${problem.index !== null ? ` (schedules[${problem.index}])` : ""}` : problem.index !== null ? `schedules[${problem.index}]` : "schedules";
    return problem.messages.map((message) => `${where}: ${message}`);
  });
}
