import { describeScheduleProblems } from "../../schedules/schema.js";
import { formatInZone } from "../../schedules/template.js";
import { describeTiming, type RepoSchedules, type ScheduleListing } from "../../queue/schedulers.js";
import type { FiringLogEntry } from "../../schedules/firing.js";

function lastFiring(schedule: ScheduleListing): string {
  if (!schedule.last) return "never";
  const tasks = schedule.last.tasks.length ? ` (${schedule.last.tasks.map((n) => `#${n}`).join(", ")})` : "";
  return `${formatInZone(schedule.last.scheduledFor, schedule.spec.timezone)}: ${schedule.last.outcome}${tasks}`;
}

function action(schedule: ScheduleListing): string {
  if (schedule.spec.openIssue) return `opens "${schedule.spec.openIssue.title}"`;
  return `labels up to ${schedule.spec.labelIssues!.limit} issues matching \`${schedule.spec.labelIssues!.query}\``;
}

/** The `/conveyor schedules` answer: a table with next fire times in each schedule's time zone. */
export function renderScheduleList(listing: RepoSchedules, fullName: string): string {
  const lines = [`### Schedules of ${fullName}`, ""];
  if (listing.version) lines.push(`From \`.github/conveyor.yml\` at ${listing.version.slice(0, 12)}${listing.syncedAt ? `, synced ${new Date(listing.syncedAt).toISOString()}` : ""}.`, "");
  if (listing.schedules.length === 0) {
    lines.push(listing.version ? "No schedules are registered." : "No schedules are registered (the config has not been synced yet: `/conveyor schedules sync`).");
  } else {
    lines.push("| schedule | when | next fire | status | does | last firing |", "| --- | --- | --- | --- | --- | --- |");
    for (const schedule of listing.schedules) {
      const next = schedule.next !== null ? formatInZone(schedule.next, schedule.spec.timezone) : "—";
      const status = schedule.status + (schedule.buffered ? " (one firing buffered)" : "");
      lines.push(`| \`${schedule.spec.id}\` | ${describeTiming(schedule.spec)} | ${next} | ${status} | ${action(schedule)} | ${lastFiring(schedule)} |`);
    }
  }
  if (listing.problems.length) {
    lines.push("", "**Not registered (invalid):**", ...describeScheduleProblems(listing.problems).map((line) => `- ${line}`));
  }
  return lines.join("\n");
}

/** Plain text for the CLI. */
export function renderScheduleListText(listing: RepoSchedules, fullName: string): string[] {
  const lines = [`${fullName}${listing.version ? ` (config ${listing.version.slice(0, 12)})` : ""}`];
  if (listing.schedules.length === 0) lines.push("  no schedules registered");
  for (const schedule of listing.schedules) {
    const next = schedule.next !== null ? formatInZone(schedule.next, schedule.spec.timezone) : "-";
    lines.push(`  ${schedule.spec.id.padEnd(20)} ${schedule.status.padEnd(8)} next ${next.padEnd(24)} ${describeTiming(schedule.spec)}; last: ${lastFiring(schedule)}`);
  }
  for (const line of describeScheduleProblems(listing.problems)) lines.push(`  invalid: ${line}`);
  return lines;
}

export function renderHistoryText(entries: FiringLogEntry[], timeZone: string): string[] {
  return entries.map((entry) => {
    const tasks = entry.tasks.length ? ` tasks ${entry.tasks.map((n) => `#${n}`).join(",")}` : "";
    return `  ${formatInZone(entry.scheduledFor, timeZone)}  fired ${new Date(entry.firedAt).toISOString()}  ${entry.outcome.padEnd(9)} ${entry.reason.padEnd(8)} ${entry.version.slice(0, 7)}${tasks}  ${entry.detail}`;
  });
}
