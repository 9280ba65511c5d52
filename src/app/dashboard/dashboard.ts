import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { age, listRuns, timeline, type TimelineItem } from "../../cli/runs.js";
import { OperatorCommandName } from "../../pipeline/events.js";
import { RunState, type Run } from "../../pipeline/run.js";
import type { Engine } from "../../queue/engine.js";
import { issueKeyOfRunId } from "../../queue/keys.js";
import { submitOperatorCommand } from "../../queue/operator.js";

export const COOKIE = "conveyor_dashboard";
const BASE = "/dashboard";
/** How often an open run page's stream looks for new log entries. */
const POLL_MS = 500;

export interface DashboardOptions {
  engine: Engine;
  /** DASHBOARD_TOKEN; without one the dashboard does not exist (404). */
  token: string | undefined;
  pollMs?: number;
}

const escape = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === COOKIE) return decodeURIComponent(value.join("="));
  }
  return null;
}

/**
 * The dashboard: runs list, run page (timeline, reviews, links, actions) that updates live over
 * Server-Sent Events. Auth: `Authorization: Bearer <DASHBOARD_TOKEN>` or the cookie that
 * `/dashboard/login?token=…` sets. No token configured → 404; a wrong or missing one → 401.
 */
export function dashboardHandler(options: DashboardOptions) {
  const { token } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) return false;
    if (!token) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
      return true;
    }
    if (url.pathname === `${BASE}/login` && req.method === "GET") {
      const given = url.searchParams.get("token") ?? "";
      if (!sameSecret(given, token)) return deny(res);
      res.writeHead(303, { location: BASE, "set-cookie": `${COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=${BASE}` }).end();
      return true;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? null;
    const given = bearer ?? cookieToken(req);
    if (given === null || !sameSecret(given, token)) return deny(res);
    try {
      await route(req, res, url, options);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end(`dashboard: ${(error as Error).message}\n`);
      else res.end();
    }
    return true;
  };

  function deny(res: ServerResponse): true {
    res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="conveyor"' }).end("Unauthorized\n");
    return true;
  }
}

async function route(req: IncomingMessage, res: ServerResponse, url: URL, options: DashboardOptions): Promise<void> {
  const { engine } = options;
  if (req.method === "GET" && (url.pathname === BASE || url.pathname === `${BASE}/`)) {
    const state = url.searchParams.get("state") || undefined;
    const repo = url.searchParams.get("repo") || undefined;
    const runs = await listRuns(engine.store, { state: state && RunState.safeParse(state).success ? state : undefined, repo, limit: 200 });
    return html(res, 200, "Conveyor runs", runsPage(runs, { state, repo }));
  }
  const match = /^\/dashboard\/runs\/(\d+-\d+-\d+)(\/events|\/actions\/(\w+))?$/.exec(url.pathname);
  if (!match) return html(res, 404, "Not found", `<p>No such page.</p><p><a href="${BASE}">All runs</a></p>`);
  const [, runId, suffix, action] = match;
  const key = issueKeyOfRunId(runId!);
  const run = (await engine.store.load(key)).run;
  if (!run || run.id !== runId) return html(res, 404, "Run not found", `<p>There is no run <code>${escape(runId)}</code>.</p><p><a href="${BASE}">All runs</a></p>`);

  if (req.method === "GET" && !suffix) {
    const items = timeline(await engine.store.history(key));
    return html(res, 200, `Run ${run.id}`, runPage(run, items, url.searchParams.get("notice")));
  }
  if (req.method === "GET" && suffix === "/events") return stream(req, res, options, key);
  if (req.method === "POST" && action) {
    // Cookie auth plus a form: refuse cross-site posts.
    const origin = req.headers.origin;
    if (origin && origin !== "null" && new URL(origin).host !== req.headers.host) return html(res, 403, "Forbidden", "<p>Cross-site request refused.</p>");
    const command = OperatorCommandName.safeParse(action);
    if (!command.success) return html(res, 404, "Not found", `<p>No action ${escape(action)}.</p>`);
    const body = await readBody(req);
    const stage = new URLSearchParams(body).get("stage");
    const result = await submitOperatorCommand(engine, key, run, { command: command.data, args: stage ? [stage] : [], operator: "dashboard" });
    const notice = `${command.data}: ${result.status === "applied" ? "done" : result.status}: ${result.reason}`;
    if ((req.headers.accept ?? "").includes("application/json")) {
      res.writeHead(result.status === "applied" ? 200 : 409, { "content-type": "application/json" }).end(JSON.stringify({ status: result.status, reason: result.reason }));
      return;
    }
    res.writeHead(303, { location: `${BASE}/runs/${run.id}?notice=${encodeURIComponent(notice)}` }).end();
    return;
  }
  return html(res, 405, "Method not allowed", "<p>Method not allowed.</p>");
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
      if (body.length > 10_000) req.destroy(new Error("body too large"));
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

/** SSE: sends the run and its timeline whenever the log grows or the run changes. */
async function stream(req: IncomingMessage, res: ServerResponse, options: DashboardOptions, key: string): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.write("retry: 1000\n\n");
  let last = "";
  let closed = false;
  req.on("close", () => (closed = true));
  while (!closed) {
    const [{ run }, history] = await Promise.all([options.engine.store.load(key), options.engine.store.history(key)]);
    const items = timeline(history);
    const signature = `${run?.version}:${history.length}:${items.filter((item) => item.applied !== null).length}`;
    if (signature !== last && run) {
      last = signature;
      res.write(`event: update\ndata: ${JSON.stringify({ version: run.version, stage: run.stage, state: run.state, summary: summaryHtml(run), timeline: timelineHtml(items) })}\n\n`);
    } else {
      res.write(": keep-alive\n\n");
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? POLL_MS));
  }
  res.end();
}

function html(res: ServerResponse, status: number, title: string, body: string): void {
  res
    .writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-frame-options": "DENY" })
    .end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><style>${CSS}</style></head><body><header><a href="${BASE}">Conveyor</a></header><main>${body}</main></body></html>`);
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1f2328}header{background:#24292f;padding:8px 16px}header a{color:#fff;font-weight:600;text-decoration:none}main{padding:16px}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left}.state-active{color:#1a7f37}.state-paused,.state-needs-human{color:#9a6700}.state-failed,.state-cancelled{color:#cf222e}.refused{color:#cf222e}.notice{background:#ddf4ff;padding:8px;border-radius:6px}form{display:inline}button{margin-right:4px}`;

function runsPage(runs: Run[], filter: { state?: string; repo?: string }): string {
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

function summaryHtml(run: Run): string {
  const repo = `https://github.com/${run.repo.owner}/${run.repo.name}`;
  const links = [`<a href="${escape(`${repo}/issues/${run.issue.number}`)}">issue #${run.issue.number}</a>`];
  if (run.pr) links.push(`<a href="${escape(`${repo}/pull/${run.pr.number}`)}">PR #${run.pr.number}</a>`);
  if (run.workflowRunId !== null) links.push(`<a href="${escape(`${repo}/actions/runs/${run.workflowRunId}`)}">Actions run</a>`);
  const reviews = run.reviews.map((review) => `<li>${review.angle}: ${review.status}, ${review.total} findings, ${review.blocking} blocking${review.error ? ` (${escape(review.error)})` : ""}</li>`).join("");
  return `<p>Stage <b id="stage">${run.stage}</b>, state <b id="state" class="state-${run.state}">${run.state}</b>, round ${run.round}, ${run.tokens} tokens. ${links.join(" · ")}</p>
${run.reason ? `<p>Why: ${escape(run.reason.what)}. Next: ${escape(run.reason.next)}.</p>` : ""}${reviews ? `<h2>Reviews</h2><ul>${reviews}</ul>` : ""}`;
}

function timelineHtml(items: TimelineItem[]): string {
  return items
    .map((item) => {
      const mark = item.applied === null ? "…" : item.applied ? "✓" : "✗";
      return `<tr class="${item.applied === false ? "refused" : ""}"><td>${escape(item.at ?? "?")}</td><td>${mark} ${escape(item.type)}</td><td>${escape(item.stage ? `${item.stage}/${item.state}` : "")}</td><td>${escape(item.reason ?? "pending")}</td></tr>`;
    })
    .join("");
}

function runPage(run: Run, items: TimelineItem[], notice: string | null): string {
  const actions = OperatorCommandName.options.map((command) => `<form method="post" action="${BASE}/runs/${run.id}/actions/${command}"><button name="do" value="${command}">${command}</button></form>`).join("");
  return `<h1>Run ${escape(run.id)}: ${escape(`${run.repo.owner}/${run.repo.name}#${run.issue.number}`)} ${escape(run.issue.title)}</h1>
${notice ? `<p class="notice" id="notice">${escape(notice)}</p>` : ""}
<div id="summary">${summaryHtml(run)}</div><p>${actions}</p>
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
