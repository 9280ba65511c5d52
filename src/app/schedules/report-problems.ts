import { createHash } from "node:crypto";
import type { RepoRef } from "../../pipeline/run.js";
import { describeScheduleProblems } from "../../schedules/schema.js";
import type { SyncReport } from "../../queue/schedulers.js";
import { CONFIG_PATH } from "../effects/load-config.js";
import type { Octokit } from "../effects/octokit.js";

export const PROBLEMS_MARKER = "<!-- conveyor:schedule-problems -->";
export const PROBLEMS_TITLE = "Conveyor: problems in the schedules of .github/conveyor.yml";

/** Where the report's issue number and what it last said are kept (the repository's schedule hash). */
export interface ProblemsMemory {
  get(field: "problemsIssue" | "problemsDigest"): Promise<string | null>;
  set(field: "problemsIssue" | "problemsDigest", value: string): Promise<void>;
}

export type ProblemsReport = { action: "none" | "opened" | "commented" | "closed"; issue: number | null };

/**
 * Tells the repository about invalid schedules, the way Renovate reports a broken config: one
 * issue, opened when a sync first finds problems, commented on when they change (each line names
 * the schedule), closed when a sync finds none. The same problems are never reported twice.
 */
export async function reportScheduleProblems(octokit: Octokit, repo: RepoRef, report: Pick<SyncReport, "problems" | "kept" | "version" | "registered" | "updated" | "unchanged">, memory: ProblemsMemory): Promise<ProblemsReport> {
  const params = { owner: repo.owner, repo: repo.name };
  const known = Number((await memory.get("problemsIssue")) ?? 0) || null;
  const lastDigest = await memory.get("problemsDigest");
  const lines = describeScheduleProblems(report.problems);
  if (lines.length === 0) {
    if (!known || lastDigest === "resolved") return { action: "none", issue: known };
    await octokit.rest.issues.createComment({ ...params, issue_number: known, body: `All schedules in \`${CONFIG_PATH}\` are valid as of ${report.version.slice(0, 12)}. Closing.` });
    await octokit.rest.issues.update({ ...params, issue_number: known, state: "closed", state_reason: "completed" });
    await memory.set("problemsDigest", "resolved");
    return { action: "closed", issue: known };
  }
  const digest = createHash("sha1").update(lines.join("\n")).digest("hex");
  if (digest === lastDigest && known) return { action: "none", issue: known };
  const running = [...report.registered, ...report.updated, ...report.unchanged];
  const text = [
    `Conveyor could not register ${report.problems.length === 1 ? "a schedule" : "some schedules"} from \`${CONFIG_PATH}\` at ${report.version.slice(0, 12)}:`,
    "",
    ...lines.map((line) => `- ${line}`),
    "",
    running.length ? `Registered and firing: ${running.map((id) => `\`${id}\``).join(", ")}.` : "No schedule is registered from this config.",
    ...(report.kept.length ? [`Still firing with their last valid definition: ${report.kept.map((id) => `\`${id}\``).join(", ")}.`] : []),
    "",
    "Fix the file on the default branch; this issue closes itself when every schedule is valid.",
  ].join("\n");
  let issue = known;
  let action: ProblemsReport["action"];
  if (issue) {
    await octokit.rest.issues.createComment({ ...params, issue_number: issue, body: text });
    if (lastDigest === "resolved") await octokit.rest.issues.update({ ...params, issue_number: issue, state: "open" });
    action = "commented";
  } else {
    const { data } = await octokit.rest.issues.create({ ...params, title: PROBLEMS_TITLE, body: `${PROBLEMS_MARKER}\n${text}` });
    issue = data.number;
    await memory.set("problemsIssue", String(issue));
    action = "opened";
  }
  await memory.set("problemsDigest", digest);
  return { action, issue };
}
