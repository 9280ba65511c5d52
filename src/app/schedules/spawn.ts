import { firingMarker } from "../../schedules/firing.js";
import { renderTemplate, templateValues } from "../../schedules/template.js";
import type { FiringContext, FiringLedger, SpawnedTask, SpawnTasks } from "../../queue/schedulers.js";
import type { GetOctokit, Octokit } from "../effects/octokit.js";

/**
 * A firing's tasks on GitHub: open an issue from the schedule's templates, or find issues with a
 * search; then add the trigger label, which starts their runs through the usual webhook. Every
 * step is idempotent for one firing: what was created goes to the firing's ledger first thing.
 */
export function createSpawn(getOctokit: GetOctokit): SpawnTasks {
  return async (firing, ledger) => {
    const octokit = await getOctokit(firing.repo.installationId);
    if (firing.schedule.openIssue) return [await openIssue(octokit, firing, ledger)];
    return labelIssues(octokit, firing, ledger);
  };
}

async function openIssue(octokit: Octokit, firing: FiringContext, ledger: FiringLedger): Promise<SpawnedTask> {
  const action = firing.schedule.openIssue!;
  const params = { owner: firing.repo.owner, repo: firing.repo.name };
  let issue = Number((await ledger.get("issue")) ?? 0);
  if (!issue) {
    const marker = firingMarker(firing.key);
    // An earlier attempt may have created the issue and died before writing the ledger.
    if (await ledger.get("creating")) issue = (await findByMarker(octokit, firing, marker)) ?? 0;
    if (!issue) {
      await ledger.set("creating", "1");
      const values = templateValues({ scheduleId: firing.schedule.id, repo: `${params.owner}/${params.repo}`, scheduledFor: firing.scheduledFor, timeZone: firing.schedule.timezone, summary: firing.summary });
      const title = renderTemplate(action.title, values).slice(0, 256);
      const body = `${renderTemplate(action.body, values)}\n\n${marker}`;
      const { data } = await octokit.rest.issues.create({ ...params, title, body, ...(action.labels.length ? { labels: action.labels } : {}) });
      issue = data.number;
    }
    await ledger.set("issue", String(issue));
  }
  // Added after opening, so GitHub sends the `labeled` webhook that starts the run. A second
  // add of a label the issue has is a no-op.
  await octokit.rest.issues.addLabels({ ...params, issue_number: issue, labels: [firing.label] });
  return { issue, opened: true };
}

async function labelIssues(octokit: Octokit, firing: FiringContext, ledger: FiringLedger): Promise<SpawnedTask[]> {
  const action = firing.schedule.labelIssues!;
  const params = { owner: firing.repo.owner, repo: firing.repo.name };
  const known = await ledger.get("issues");
  let issues: number[];
  if (known) {
    issues = JSON.parse(known) as number[];
  } else {
    const q = `repo:${params.owner}/${params.repo} is:issue is:open -label:${quote(firing.label)} ${action.query}`;
    const { data } = await octokit.rest.search.issuesAndPullRequests({ q, sort: "created", order: "asc", per_page: action.limit });
    issues = data.items.filter((item) => !item.pull_request).slice(0, action.limit).map((item) => item.number);
    await ledger.set("issues", JSON.stringify(issues));
  }
  for (const issue of issues) await octokit.rest.issues.addLabels({ ...params, issue_number: issue, labels: [firing.label] });
  return issues.map((issue) => ({ issue, opened: false }));
}

async function findByMarker(octokit: Octokit, firing: FiringContext, marker: string): Promise<number | undefined> {
  const key = marker.replace(/^<!-- /, "").replace(/ -->$/, "");
  const { data } = await octokit.rest.search.issuesAndPullRequests({ q: `repo:${firing.repo.owner}/${firing.repo.name} is:issue in:body "${key}"`, per_page: 5 });
  return data.items.find((item) => item.body?.includes(marker))?.number;
}

function quote(label: string): string {
  return /[\s"]/.test(label) ? `"${label.replace(/"/g, "")}"` : label;
}
