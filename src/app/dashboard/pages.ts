import type { ServerResponse } from "node:http";
import { age, type TimelineItem } from "../../cli/runs.js";
import { OperatorCommandName } from "../../pipeline/events.js";
import { RunState, type Run } from "../../pipeline/run.js";

export const BASE = "/dashboard";
export const QUEUES_PATH = `${BASE}/queues`;

export const escape = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function html(res: ServerResponse, status: number, title: string, body: string, headers: Record<string, string | string[]> = {}): void {
  res
    .writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-frame-options": "DENY", ...headers })
    .end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><style>${CSS}</style></head><body><header><a href="${BASE}">Conveyor</a> <a href="${QUEUES_PATH}">Queues</a></header><main>${body}</main></body></html>`);
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1f2328}header{background:#24292f;padding:8px 16px}header a{color:#fff;font-weight:600;text-decoration:none;margin-right:16px}main{padding:16px}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left}.state-active{color:#1a7f37}.state-paused,.state-needs-human{color:#9a6700}.state-failed,.state-cancelled{color:#cf222e}.refused{color:#cf222e}.notice{background:#ddf4ff;padding:8px;border-radius:6px}form{display:inline}button{margin-right:4px}`;

export function runsPage(runs: Run[], filter: { state?: string; repo?: string }): string {
  const now = Date.now();
  const options = ["", ...RunState.options].map((state) => `<option value="${state}"${state === (filter.state ?? "") ? " selected" : ""}>${state || "any state"}</option>`).join("");
  const rows = runs
    .map(
      (run) =>
        `<tr data-run="${escape(run.id)}"><td><a href="${BASE}/runs/${escape(run.id)}">${escape(run.id)}</a></td><td>${escape(`${run.repo.owner}/${run.repo.name}`)}</td><td>#${run.issue.number} ${escape(run.issue.title)}</td><td>${run.stage}</td><td>${run.round}</td><td>${escape(age(now - Date.parse(run.createdAt)))}</td><td>${run.tokens}</td><td class="state-${run.state}">${run.state}</td></tr>`,
    )
    .join("");
  return `<h1>Runs</h1><form method="get" action="${BASE}"><select name="state">${options}</select> <input name="repo" placeholder="owner/name" value="${escape(filter.repo ?? "")}"> <button>Filter</button></form>
<table><thead><tr><th>Run</th><th>Repository</th><th>Issue</th><th>Stage</th><th>Round</th><th>Age</th><th>Tokens</th><th>State</th></tr></thead><tbody>${rows || '<tr><td colspan="8">No runs.</td></tr>'}</tbody></table>`;
}

export const GITHUB_URL = "https://github.com";

/** `githubUrl`: GitHub's web origin (a GitHub Enterprise host's, when Conveyor runs against one). */
export function summaryHtml(run: Run, githubUrl = GITHUB_URL): string {
  const repo = `${githubUrl}/${run.repo.owner}/${run.repo.name}`;
  const links = [`<a href="${escape(`${repo}/issues/${run.issue.number}`)}">issue #${run.issue.number}</a>`];
  if (run.pr) links.push(`<a href="${escape(`${repo}/pull/${run.pr.number}`)}">PR #${run.pr.number}</a>`);
  if (run.workflowRunId !== null) links.push(`<a href="${escape(`${repo}/actions/runs/${run.workflowRunId}`)}">Actions run</a>`);
  const reviews = run.reviews.map((review) => `<li>${review.angle}: ${review.status}, ${review.total} findings, ${review.blocking} blocking${review.error ? ` (${escape(review.error)})` : ""}</li>`).join("");
  return `<p>Stage <b id="stage">${run.stage}</b>, state <b id="state" class="state-${run.state}">${run.state}</b>, round ${run.round}, ${run.tokens} tokens. ${links.join(" · ")}</p>
${run.reason ? `<p>Why: ${escape(run.reason.what)}. Next: ${escape(run.reason.next)}.</p>` : ""}${reviews ? `<h2>Reviews</h2><ul>${reviews}</ul>` : ""}`;
}

export function timelineHtml(items: TimelineItem[]): string {
  return items
    .map((item) => {
      const mark = item.applied === null ? "…" : item.applied ? "✓" : "✗";
      return `<tr class="${item.applied === false ? "refused" : ""}"><td>${escape(item.at ?? "?")}</td><td>${mark} ${escape(item.type)}</td><td>${escape(item.stage ? `${item.stage}/${item.state}` : "")}</td><td>${escape(item.reason ?? "pending")}</td></tr>`;
    })
    .join("");
}

export function runPage(run: Run, items: TimelineItem[], notice: string | null, githubUrl = GITHUB_URL): string {
  const actions = OperatorCommandName.options.map((command) => `<form method="post" action="${BASE}/runs/${run.id}/actions/${command}"><button name="do" value="${command}">${command}</button></form>`).join("");
  return `<h1>Run ${escape(run.id)}: ${escape(`${run.repo.owner}/${run.repo.name}#${run.issue.number}`)} ${escape(run.issue.title)}</h1>
${notice ? `<p class="notice" id="notice">${escape(notice)}</p>` : ""}
<div id="summary">${summaryHtml(run, githubUrl)}</div><p>${actions}</p>
<h2>Timeline</h2><table><thead><tr><th>At</th><th>Event</th><th>Then</th><th>What it did</th></tr></thead><tbody id="timeline">${timelineHtml(items)}</tbody></table>
<script>
const source = new EventSource(${JSON.stringify(`${BASE}/runs/${run.id}/events`)});
source.addEventListener("update", (message) => {
  const data = JSON.parse(message.data);
  document.getElementById("summary").innerHTML = data.summary;
  document.getElementById("timeline").innerHTML = data.timeline;
  document.body.dataset.version = data.version;
});
</script>`;
}
