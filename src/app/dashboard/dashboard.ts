import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { listRuns, timeline } from "../../cli/runs.js";
import { OperatorCommandName } from "../../pipeline/events.js";
import { RunState } from "../../pipeline/run.js";
import type { Engine } from "../../queue/engine.js";
import { issueKeyOfRunId } from "../../queue/keys.js";
import { submitOperatorCommand } from "../../queue/operator.js";
import { DashboardAuth, type AuthOptions } from "./auth.js";
import { BASE, QUEUES_PATH, escape, html, runPage, runsPage, summaryHtml, timelineHtml } from "./pages.js";
import type { QueueBoard } from "./queue-board.js";

/** How often an open run page's stream looks for new log entries. */
const POLL_MS = 500;

export interface DashboardOptions extends AuthOptions {
  engine: Engine;
  /** BullMQ's board, served at /dashboard/queues behind the same auth. */
  queueBoard?: QueueBoard | null;
  log?: Logger;
  pollMs?: number;
  /** GitHub's web origin for the run page's links (default https://github.com). */
  githubUrl?: string;
}

/**
 * The dashboard: runs list, run page (timeline, reviews, links, actions) that updates live over
 * Server-Sent Events, and the queue board. Auth: `Authorization: Bearer <DASHBOARD_TOKEN>` or
 * the session cookie that /dashboard/login sets (with the token, or after GitHub sign-in).
 * Neither configured → 404; no or bad credentials → 401.
 */
export function dashboardHandler(options: DashboardOptions) {
  const auth = new DashboardAuth(options);
  if (options.github && options.github.users.length === 0) options.log?.warn("dashboard: GitHub sign-in is on but DASHBOARD_USERS is empty, so nobody can sign in with GitHub; list the logins to admit");
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) return false;
    if (!auth.enabled) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
      return true;
    }
    try {
      if (await auth.handle(req, res, url)) return true;
      if (!auth.authenticate(req)) return auth.deny(res);
      // Cookies make every state-changing request a CSRF risk: refuse ones another site sent.
      if (req.method !== "GET" && req.method !== "HEAD" && !auth.sameOrigin(req)) {
        html(res, 403, "Forbidden", "<p>Cross-site request refused.</p>");
        return true;
      }
      if (url.pathname === QUEUES_PATH || url.pathname.startsWith(`${QUEUES_PATH}/`)) {
        if (options.queueBoard) await options.queueBoard.handle(req, res);
        else html(res, 404, "Not found", "<p>The queue board is not set up in this process.</p>");
        return true;
      }
      await route(req, res, url, options);
    } catch (error) {
      options.log?.error({ err: error, path: url.pathname }, `dashboard: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end(`dashboard: ${(error as Error).message}\n`);
      else res.end();
    }
    return true;
  };
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
    return html(res, 200, `Run ${run.id}`, runPage(run, items, url.searchParams.get("notice"), options.githubUrl));
  }
  if (req.method === "GET" && suffix === "/events") return stream(req, res, options, key);
  if (req.method === "POST" && action) {
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
      res.write(`event: update\ndata: ${JSON.stringify({ version: run.version, stage: run.stage, state: run.state, summary: summaryHtml(run, options.githubUrl), timeline: timelineHtml(items) })}\n\n`);
    } else {
      res.write(": keep-alive\n\n");
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? POLL_MS));
  }
  res.end();
}
