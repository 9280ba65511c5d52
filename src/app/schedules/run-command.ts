import type { Logger } from "pino";
import type { Permission } from "../../pipeline/events.js";
import { formatInZone } from "../../schedules/template.js";
import { parseWhen } from "../../schedules/when.js";
import { ScheduleNotFoundError, type ScheduleJobData, type Schedulers } from "../../queue/schedulers.js";
import type { GetOctokit } from "../effects/octokit.js";
import { collaboratorPermission } from "../effects/permission.js";
import { parseScheduleCommand, SCHEDULE_COMMANDS_HELP, type ScheduleCommand } from "./commands.js";
import { renderHistoryText, renderScheduleList } from "./render.js";

export type CommandJob = Extract<ScheduleJobData, { kind: "command" }>;

const AUTHORIZED: ReadonlySet<Permission> = new Set(["admin", "maintain", "write"]);
const REPLY_TTL_MS = 4 * 86_400_000;

export interface CommandDeps {
  schedulers: Schedulers;
  getOctokit: GetOctokit;
  /** Asks for a sync of the repository (`/conveyor schedules sync`). */
  requestSync(job: CommandJob): Promise<void>;
  log: Logger;
}

/**
 * Runs `/conveyor schedules …` from an issue comment: only for users with write access, answered
 * with one reply comment (posted once: its id is remembered under the command's comment id).
 */
export async function runScheduleCommand(job: CommandJob, deps: CommandDeps): Promise<string> {
  const { schedulers } = deps;
  const replied = schedulers.keys.claim(job.repo.id, `reply-${job.commentId}`);
  if (await schedulers.redis.exists(replied)) return "already answered";
  const octokit = await deps.getOctokit(job.repo.installationId);
  const params = { owner: job.repo.owner, repo: job.repo.name };
  const permission = await collaboratorPermission(octokit, params, job.login);
  let body: string;
  if (!AUTHORIZED.has(permission)) {
    body = `@${job.login} schedule commands need write access to this repository (you have ${permission}); nothing was changed.`;
  } else {
    const answers: string[] = [];
    for (const args of job.commands) answers.push(await execute(parseScheduleCommand(args), job, deps));
    body = answers.join("\n\n---\n\n");
  }
  const marker = `<!-- conveyor:schedules-reply=${job.commentId} -->`;
  await octokit.rest.issues.createComment({ ...params, issue_number: job.issue, body: `${marker}\n${body}` });
  await schedulers.redis.set(replied, "1", "PX", REPLY_TTL_MS);
  return permission;
}

async function execute(command: ScheduleCommand, job: CommandJob, deps: CommandDeps): Promise<string> {
  const { schedulers } = deps;
  const repoId = job.repo.id;
  const fullName = `${job.repo.owner}/${job.repo.name}`;
  try {
    switch (command.name) {
      case "list":
        return renderScheduleList(await schedulers.list(repoId), fullName);
      case "sync":
        await deps.requestSync(job);
        return "Reading `.github/conveyor.yml` again; `/conveyor schedules` shows the result in a moment.";
      case "trigger": {
        const key = await schedulers.trigger(repoId, command.id, { at: Date.parse(job.createdAt), by: job.login });
        return `Triggered \`${command.id}\` (firing \`${key}\`); it fires now, whatever its overlap policy.`;
      }
      case "pause": {
        const { changed } = await schedulers.pause(repoId, command.id, job.login);
        return changed ? `Paused \`${command.id}\`: it does not fire until \`/conveyor schedules resume ${command.id}\`.` : `\`${command.id}\` was already paused.`;
      }
      case "resume": {
        const { changed, next } = await schedulers.resume(repoId, command.id, job.login);
        const spec = (await schedulers.registered(repoId)).get(command.id)!.spec;
        const when = next !== null ? `; next fire ${formatInZone(next, spec.timezone)}` : spec.enabled ? "" : " (it is disabled in the config, so it still does not fire)";
        return `${changed ? "Resumed" : "Was not paused:"} \`${command.id}\`${when}. Times that came due while paused are not caught up; use backfill for those.`;
      }
      case "backfill": {
        const spec = (await schedulers.registered(repoId)).get(command.id)?.spec;
        if (!spec) throw new ScheduleNotFoundError(`no schedule "${command.id}" is registered for this repository`);
        const from = parseWhen(command.from, spec.timezone, "start");
        const to = parseWhen(command.to, spec.timezone, "end");
        if (from === null || to === null) return `Cannot read ${from === null ? `\`${command.from}\`` : `\`${command.to}\``} as a time: use 2026-11-01, 2026-11-01T09:00 (in ${spec.timezone}) or a full ISO 8601 time.`;
        const { due } = await schedulers.backfill(repoId, command.id, from, to, job.login);
        if (due.length === 0) return `\`${command.id}\` had no due time between ${formatInZone(from, spec.timezone)} and ${formatInZone(to, spec.timezone)}.`;
        return `Backfilling \`${command.id}\`: ${due.length} due time${due.length === 1 ? "" : "s"} (${due.map((t) => formatInZone(t, spec.timezone)).join(", ")}); times that already fired do nothing.`;
      }
      case "history": {
        const spec = (await schedulers.registered(repoId)).get(command.id)?.spec;
        if (!spec) throw new ScheduleNotFoundError(`no schedule "${command.id}" is registered for this repository`);
        const lines = renderHistoryText(await schedulers.history(repoId, command.id, 15), spec.timezone);
        return [`Last firings of \`${command.id}\` (newest first):`, "```", ...(lines.length ? lines : ["  none yet"]), "```"].join("\n");
      }
      case "help":
        return [...(command.problem ? [`${command.problem}.`, ""] : []), "Schedule commands (write access):", ...SCHEDULE_COMMANDS_HELP.map((line) => `- ${line}`)].join("\n");
    }
  } catch (error) {
    if (error instanceof ScheduleNotFoundError || error instanceof RangeError) return `${error.message.replace(/^backfill: /, "")}.`;
    throw error;
  }
}
