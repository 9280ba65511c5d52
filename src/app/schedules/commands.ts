import type { Command } from "../../pipeline/events.js";
import { parseCommands } from "../commands.js";

// `/conveyor schedules …`: repository-level commands, not a run's. Parsed with the same rules as
// run commands (no commands inside code fences or quotes).

export type ScheduleCommand =
  | { name: "list" }
  | { name: "trigger" | "pause" | "resume" | "history"; id: string }
  | { name: "backfill"; id: string; from: string; to: string }
  | { name: "sync" }
  | { name: "help"; problem?: string };

export const SCHEDULE_COMMANDS_HELP = [
  "`/conveyor schedules` — list the schedules with their next fire times",
  "`/conveyor schedules trigger <id>` — fire a schedule now",
  "`/conveyor schedules pause <id>` / `resume <id>` — stop and restart a schedule",
  "`/conveyor schedules backfill <id> <from> <to>` — fire every due time in a range that has not fired (dates such as 2026-11-01 or 2026-11-01T09:00, in the schedule's time zone)",
  "`/conveyor schedules history <id>` — the schedule's last firings",
  "`/conveyor schedules sync` — read `.github/conveyor.yml` again",
];

/** True for a `/conveyor schedules …` line (whatever the prefix). */
export function isScheduleCommand(command: Pick<Command, "text">): boolean {
  return command.text.trim().split(/\s+/)[1]?.toLowerCase() === "schedules";
}

/** The words after `schedules` of each schedule command in a comment. */
export function scheduleCommandArgs(body: string, commentId: number, prefix: string): string[][] {
  return parseCommands(body, commentId, prefix)
    .filter(isScheduleCommand)
    .map((command) => command.text.trim().split(/\s+/).slice(2));
}

export function parseScheduleCommand(args: readonly string[]): ScheduleCommand {
  const [word = "list", ...rest] = args;
  const name = word.toLowerCase();
  const needId = (n: "trigger" | "pause" | "resume" | "history"): ScheduleCommand => (rest.length === 1 ? { name: n, id: rest[0]! } : { name: "help", problem: `\`schedules ${n}\` takes one schedule id` });
  switch (name) {
    case "list":
      return rest.length ? { name: "help", problem: "`schedules list` takes no arguments" } : { name: "list" };
    case "sync":
      return { name: "sync" };
    case "trigger":
    case "pause":
    case "resume":
    case "history":
      return needId(name);
    case "backfill":
      return rest.length === 3 ? { name: "backfill", id: rest[0]!, from: rest[1]!, to: rest[2]! } : { name: "help", problem: "`schedules backfill` takes a schedule id, a start and an end" };
    case "help":
      return { name: "help" };
    default:
      return { name: "help", problem: `unknown schedules command \`${word}\`` };
  }
}
