import type { Schedule } from "./schema.js";
import { formatInZone } from "./template.js";

// What a firing is and how it is described. Pure types and text.

export type FiringReason = "schedule" | "trigger" | "backfill";

/** One logged firing (or a firing that did not happen, with why). */
export interface FiringLogEntry {
  scheduleId: string;
  /** The due time (ms); for a trigger, the moment it was asked for. */
  scheduledFor: number;
  /** When the firing ran (ms); for missed times, when the miss was noticed. */
  firedAt: number;
  /** Commit sha of the config the schedule came from. */
  version: string;
  reason: FiringReason | "misfire" | "operator";
  /** fired | skipped | dropped | missed | failed | paused | resumed | removed | registered */
  outcome: string;
  /** Issue numbers the firing opened or labelled. */
  tasks: number[];
  detail: string;
}

export interface PreviousFiring {
  scheduledFor: number;
  outcome: string;
  tasks: number[];
}

/** The context summary an opened issue carries (the `{{summary}}` placeholder). */
export function firingSummary(input: {
  schedule: Schedule;
  repo: string;
  scheduledFor: number;
  firedAt: number;
  version: string;
  reason: FiringReason;
  previous: PreviousFiring | null;
}): string {
  const { schedule } = input;
  const when = schedule.cron !== undefined ? `cron \`${schedule.cron}\` (${schedule.timezone})` : `every ${schedule.every}`;
  const how = input.reason === "schedule" ? "on schedule" : input.reason === "trigger" ? "triggered by hand" : "as a backfill";
  const lines = [
    `Opened by Conveyor schedule \`${schedule.id}\` (${when}), ${how}.`,
    "",
    `- due: ${formatInZone(input.scheduledFor, schedule.timezone)}`,
    `- fired: ${formatInZone(input.firedAt, schedule.timezone)}`,
    `- config: \`.github/conveyor.yml\` at ${input.version.slice(0, 12)} in ${input.repo}`,
  ];
  if (input.previous) {
    const tasks = input.previous.tasks.length ? input.previous.tasks.map((n) => `#${n}`).join(", ") : "no tasks";
    lines.push(`- previous firing: ${formatInZone(input.previous.scheduledFor, schedule.timezone)}, ${input.previous.outcome} (${tasks})`);
  } else {
    lines.push("- previous firing: none");
  }
  return lines.join("\n");
}

/** Hidden marker of the issue a firing opened: finds it again if Redis lost the ledger. */
export function firingMarker(key: string): string {
  return `<!-- conveyor:firing=${key} -->`;
}
