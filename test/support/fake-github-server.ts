// A small fake GitHub REST API on loopback, for tests whose GitHub calls come from other
// processes (crash tests), where nock cannot reach. The app reaches it through its GitHub
// Enterprise Server settings: GHE_HOST=127.0.0.1:<port> and GHE_PROTOCOL=http make Probot use
// http://127.0.0.1:<port>/api/v3 — so every test that uses it also proves GHES works.
//
//   const gh = await startFakeGitHubServer({ repos: [{ id: 4242, owner: "acme", name: "widgets" }] });
//   env.GHE_HOST = gh.host; env.GHE_PROTOCOL = "http";
//   ...
//   gh.requests("create-comment", { issue: 7 })   // what reached "GitHub", by kind and issue
//   await gh.close();
//
// It keeps state (comments, reactions, dispatches, issue states) so the app's idempotency
// checks (the hidden-marker lookup of its comments) see what they would see on GitHub. Every
// request is matched against GitHub's OpenAPI description (test/fixtures/github) and its
// parameters and body validated; an invalid one is answered 422 and listed by `problems()`.
// Unknown routes are answered 404 and counted as "unexpected".
//
// It also answers as the app itself (GET /app, its installations, an installation's repositories,
// paginated) and serves the repositories' files (`files`: configs and workflows), for
// `conveyor doctor`.
//
// Faults: latency (split around the moment the request takes effect, so a client killed while
// waiting for the answer has had its effect applied — a lost response) and 502s that change
// nothing, both drawn from a seeded PRNG.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { findOperation } from "./github/openapi.js";

export type RequestKind =
  | "access-token"
  | "get-content"
  | "get-repo"
  | "get-branch"
  | "list-comments"
  | "create-comment"
  | "update-comment"
  | "dispatch"
  | "list-workflow-runs"
  | "get-permission"
  | "create-reaction"
  | "update-issue"
  | "get-app"
  | "list-installations"
  | "list-installation-repos"
  | "get-workflow"
  | "unexpected";

const ROUTES: Record<string, Exclude<RequestKind, "unexpected">> = {
  "POST /app/installations/{installation_id}/access_tokens": "access-token",
  "GET /repos/{owner}/{repo}/contents/{path}": "get-content",
  "GET /repos/{owner}/{repo}": "get-repo",
  "GET /repos/{owner}/{repo}/branches/{branch}": "get-branch",
  "GET /repos/{owner}/{repo}/issues/{issue_number}/comments": "list-comments",
  "POST /repos/{owner}/{repo}/issues/{issue_number}/comments": "create-comment",
  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": "update-comment",
  "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches": "dispatch",
  "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs": "list-workflow-runs",
  "GET /repos/{owner}/{repo}/collaborators/{username}/permission": "get-permission",
  "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": "create-reaction",
  "PATCH /repos/{owner}/{repo}/issues/{issue_number}": "update-issue",
  "GET /app": "get-app",
  "GET /app/installations": "list-installations",
  "GET /installation/repositories": "list-installation-repos",
  "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}": "get-workflow",
};

export interface RecordedGitHubRequest {
  /** Arrival order, from 1. */
  seq: number;
  kind: RequestKind;
  method: string;
  /** Path below /api/v3, without the query. */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  /** The issue the request is about, when the request says (directly or through a comment id). */
  issue: number | null;
  /** The status answered; null while the request is in flight. */
  status: number | null;
  /** An injected 502: the request changed nothing. */
  injected: boolean;
  /** Validation errors against GitHub's OpenAPI description (answered 422). */
  invalid: string[];
  receivedAt: number;
  /** When the request took effect (or was refused); null while it waits or for an injected 502. */
  tookEffectAt: number | null;
  /** The client hung up before the answer (e.g. it was killed): it never learnt what happened. */
  clientGone: boolean;
}

export interface StoredComment {
  id: number;
  owner: string;
  repo: string;
  issue: number;
  body: string;
  user: { login: string; type: "User" | "Bot" };
  created_at: string;
  updated_at: string;
}

export interface StoredDispatch {
  workflowRunId: number;
  createdAt: string;
  owner: string;
  repo: string;
  workflow: string;
  ref: string;
  inputs: Record<string, string>;
  issue: number | null;
}

export interface FaultOptions {
  /** Seed of the PRNG that draws latencies and faults (default 1). */
  seed?: number;
  /** Latency of every answer, uniformly drawn from [min, max] ms (default [0, 0]). */
  latencyMs?: [number, number];
  /** Latency per kind, overriding latencyMs. */
  latencyByKind?: Partial<Record<RequestKind, [number, number]>>;
  /** Latency of one request in ms, overriding the others when it returns a number. */
  latencyOf?: (request: RecordedGitHubRequest) => number | undefined;
  /** Share of requests answered 502 without taking effect (default 0). */
  errorRate?: number;
  /** Kinds the 502s hit (default: all). */
  errorKinds?: RequestKind[];
}

export interface FakeRepo {
  id: number;
  owner: string;
  name: string;
  defaultBranch?: string;
  /**
   * The repository's files by path (served by the contents API, raw or base64). When given, its
   * workflows are the `.github/workflows/*` files here; otherwise `workflows` says which exist.
   */
  files?: Record<string, string>;
}

export interface FakeGitHubServerOptions extends FaultOptions {
  repos?: FakeRepo[];
  /** Workflow files that exist (dispatching another one gets 404). */
  workflows?: string[];
  /** What `GET /app` answers (default: id 12345, slug conveyor-test). */
  app?: { id: number; slug: string; name: string };
  /** The app's installations and the repositories ("owner/name") each may access (default: one, id 1, on every repo). */
  installations?: { id: number; account: string; repos: string[] }[];
  /** Page size cap of list endpoints (GitHub's is 100); lower it to make clients paginate. */
  maxPerPage?: number;
  /** A user's permission on the repositories (default "write"). */
  permissionOf?: (login: string) => "admin" | "maintain" | "write" | "triage" | "read" | "none";
  /** The login comments created with an installation token are attributed to. */
  appLogin?: string;
}

export interface FakeGitHubServer {
  /** `127.0.0.1:<port>`, for GHE_HOST. */
  host: string;
  /** `http://127.0.0.1:<port>/api/v3` */
  baseUrl: string;
  /** Every request received, in arrival order. */
  all(): readonly RecordedGitHubRequest[];
  /**
   * Requests of one kind that took effect (answered 2xx, not an injected fault), optionally for
   * one issue, in the order they took effect. For writes this is what happened on "GitHub".
   */
  requests(kind: RequestKind, filter?: { issue?: number }): RecordedGitHubRequest[];
  /** Requests answered by kind (any status; injected 502s not counted). */
  counts(): Record<RequestKind, number>;
  /** Injected 502s, by kind. */
  faults(): Partial<Record<RequestKind, number>>;
  /** Unknown routes, invalid requests and bad credentials: each is a bug in the app or in this fake. */
  problems(): RecordedGitHubRequest[];
  /** Requests received and not answered yet. */
  inFlight(kind?: RequestKind): RecordedGitHubRequest[];
  /** Requests that took effect but whose client hung up before the answer (lost responses). */
  lostResponses(kind?: RequestKind): RecordedGitHubRequest[];
  comments(issue?: number): StoredComment[];
  /** Adds a comment as a user would (e.g. the comment a slash command came in). */
  addComment(issue: number, body: string, login: string, repo?: { owner: string; name: string }): StoredComment;
  dispatches(): StoredDispatch[];
  /** Distinct reactions (GitHub keeps one per user, comment and content). */
  reactions(commentId?: number): { commentId: number; content: string; login: string }[];
  issueState(issue: number, repo?: { owner: string; name: string }): "open" | "closed";
  /** Creates or moves a branch (as an implementer's push would); branches not set do not exist. */
  setBranch(branch: string, sha: string, repo?: { owner: string; name: string }): void;
  /** Changes latency and fault injection from now on. */
  setFaults(faults: FaultOptions): void;
  close(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, good enough for reproducible chaos. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const notFound = (): Answer => ({ status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" } });

export async function startFakeGitHubServer(options: FakeGitHubServerOptions = {}): Promise<FakeGitHubServer> {
  const repos = options.repos ?? [{ id: 4242, owner: "acme", name: "widgets" }];
  const workflows = new Set(options.workflows ?? ["conveyor-implement.yml"]);
  const app = options.app ?? { id: 12345, slug: "conveyor-test", name: "Conveyor Test" };
  const installations = options.installations ?? [{ id: 1, account: repos[0]?.owner ?? "acme", repos: repos.map((r) => `${r.owner}/${r.name}`) }];
  const maxPerPage = options.maxPerPage ?? 100;
  const permissionOf = options.permissionOf ?? (() => "write" as const);
  const appLogin = options.appLogin ?? "conveyor[bot]";

  let faults: FaultOptions = options;
  let random = seededRandom(options.seed ?? 1);
  const records: RecordedGitHubRequest[] = [];
  /** Installation tokens and the installation each was minted for. */
  const tokens = new Map<string, number>();
  const comments = new Map<number, StoredComment>();
  const reactions = new Map<string, { id: number; commentId: number; content: string; login: string }>();
  const dispatches: StoredDispatch[] = [];
  const closed = new Set<string>();
  const branches = new Map<string, string>();
  let nextId = 1000;
  let nextWorkflowRunId = 7_000_000;
  const now = () => new Date().toISOString();
  const repoOf = (owner: string, name: string) => repos.find((r) => r.owner.toLowerCase() === owner.toLowerCase() && r.name.toLowerCase() === name.toLowerCase());
  const issueKey = (owner: string, name: string, issue: number) => `${owner}/${name}#${issue}`.toLowerCase();
  const workflowExists = (repo: FakeRepo, id: string) => (repo.files ? `.github/workflows/${id}` in repo.files : workflows.has(id));

  /** One page of a list as GitHub serves it: `per_page` (capped), `page`, and a Link header to the next and last pages. */
  function paginate<T>(all: T[], query: Record<string, string>, path: string): { items: T[]; headers: Record<string, string> } {
    const perPage = Math.min(maxPerPage, Math.max(1, Number(query.per_page ?? 30)));
    const page = Math.max(1, Number(query.page ?? 1));
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const headers: Record<string, string> = {};
    if (page < last) {
      const link = (p: number) => `<http://${server.host}/api/v3${path}?per_page=${perPage}&page=${p}>`;
      headers.link = `${link(page + 1)}; rel="next", ${link(last)}; rel="last"`;
    }
    return { items: all.slice((page - 1) * perPage, page * perPage), headers };
  }

  const repoJson = (repo: FakeRepo) => ({
    id: repo.id,
    node_id: `R_${repo.id}`,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: { login: repo.owner, id: 1, type: "Organization" },
    private: false,
    default_branch: repo.defaultBranch ?? "main",
  });

  function addComment(owner: string, repo: string, issue: number, body: string, user: StoredComment["user"]): StoredComment {
    const at = now();
    const comment: StoredComment = { id: nextId++, owner, repo, issue, body, user, created_at: at, updated_at: at };
    comments.set(comment.id, comment);
    return comment;
  }

  const commentJson = (c: StoredComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `http://github.invalid/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: `http://github.invalid/${c.owner}/${c.repo}/issues/${c.issue}#issuecomment-${c.id}`,
    issue_url: `http://github.invalid/repos/${c.owner}/${c.repo}/issues/${c.issue}`,
    body: c.body,
    user: { login: c.user.login, id: 1, type: c.user.type },
    author_association: c.user.type === "Bot" ? "NONE" : "MEMBER",
    created_at: c.created_at,
    updated_at: c.updated_at,
  });

  /** Which issue a request is about; known before it takes effect, so faults are attributed too. */
  function issueOf(kind: RequestKind, params: Record<string, string>, body: unknown): number | null {
    if (params.issue_number) return Number(params.issue_number);
    if (params.comment_id) return comments.get(Number(params.comment_id))?.issue ?? null;
    if (kind === "dispatch") {
      const issue = Number((body as { inputs?: { issue?: unknown } } | undefined)?.inputs?.issue);
      return Number.isInteger(issue) ? issue : null;
    }
    return null;
  }

  /** Applies a request to the state and says what GitHub would answer. */
  function handle(kind: RequestKind, params: Record<string, string>, query: Record<string, string>, body: unknown, headers: { authorization: string; accept: string }): Answer {
    const { authorization } = headers;
    if (kind === "unexpected") return notFound();
    const asApp = /^bearer /i.test(authorization);
    if (kind === "get-app" || kind === "list-installations" || kind === "access-token") {
      if (!asApp) return { status: 401, body: { message: "A JSON web token could not be decoded" } };
    }
    if (kind === "get-app") return { status: 200, body: { ...app, node_id: `A_${app.id}`, owner: { login: installations[0]?.account ?? "acme", id: 1 }, events: ["issues"], permissions: { issues: "write" } } };
    if (kind === "list-installations") {
      const { items, headers: link } = paginate(installations, query, "/app/installations");
      return { status: 200, body: items.map((i) => ({ id: i.id, account: { login: i.account, id: 1, type: "Organization" }, app_id: app.id, app_slug: app.slug, target_type: "Organization" })), headers: link };
    }
    if (kind === "access-token") {
      const token = `ghs_fake${nextId++}`;
      tokens.set(token, Number(params.installation_id));
      return {
        status: 201,
        body: { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: { issues: "write", actions: "write", contents: "read" }, repository_selection: "all" },
      };
    }
    const token = /^token (.+)$/i.exec(authorization)?.[1];
    if (!token || !tokens.has(token)) return { status: 401, body: { message: "Bad credentials" } };
    if (kind === "list-installation-repos") {
      const installation = installations.find((i) => i.id === tokens.get(token));
      const visible = repos.filter((r) => !installation || installation.repos.some((full) => full.toLowerCase() === `${r.owner}/${r.name}`.toLowerCase()));
      const { items, headers: link } = paginate(visible, query, "/installation/repositories");
      return { status: 200, body: { total_count: visible.length, repository_selection: "selected", repositories: items.map(repoJson) }, headers: link };
    }
    const repo = repoOf(params.owner ?? "", params.repo ?? "");
    if (!repo) return notFound();
    const { owner, name } = repo;
    switch (kind) {
      case "get-content": {
        const content = repo.files?.[params.path ?? ""];
        if (content === undefined) return notFound();
        // Probot's config plugin asks for the raw media type and tells files from directories by the content type.
        if (headers.accept.includes("raw")) return { status: 200, body: content, headers: { "content-type": "application/vnd.github.raw; charset=utf-8" } };
        return { status: 200, body: { type: "file", encoding: "base64", path: params.path, name: params.path!.split("/").pop(), size: Buffer.byteLength(content), content: Buffer.from(content).toString("base64") } };
      }
      case "get-workflow": {
        const id = params.workflow_id ?? "";
        if (!workflowExists(repo, id)) return notFound();
        const path = `.github/workflows/${id}`;
        return { status: 200, body: { id: 161335, node_id: "W_161335", name: id, path, state: "active", created_at: now(), updated_at: now(), url: "", html_url: `http://github.invalid/${owner}/${name}/blob/main/${path}`, badge_url: "" } };
      }
      case "get-repo":
        return { status: 200, body: repoJson(repo) };
      case "get-branch": {
        const sha = branches.get(`${owner}/${name}:${params.branch}`.toLowerCase());
        if (!sha) return { status: 404, body: { message: "Branch not found", documentation_url: "https://docs.github.com/rest" } };
        return { status: 200, body: { name: params.branch, commit: { sha, url: `http://github.invalid/commits/${sha}` }, protected: false } };
      }
      case "list-comments": {
        const issue = Number(params.issue_number);
        const all = [...comments.values()].filter((c) => c.issue === issue && c.owner === owner && c.repo === name).sort((a, b) => a.id - b.id);
        const { items, headers: link } = paginate(all, query, `/repos/${owner}/${name}/issues/${issue}/comments`);
        return { status: 200, body: items.map(commentJson), headers: link };
      }
      case "create-comment": {
        const comment = addComment(owner, name, Number(params.issue_number), String((body as { body: unknown }).body), { login: appLogin, type: "Bot" });
        return { status: 201, body: commentJson(comment) };
      }
      case "update-comment": {
        const comment = comments.get(Number(params.comment_id));
        if (!comment || comment.owner !== owner || comment.repo !== name) return notFound();
        comment.body = String((body as { body: unknown }).body);
        comment.updated_at = now();
        return { status: 200, body: commentJson(comment) };
      }
      case "create-reaction": {
        const commentId = Number(params.comment_id);
        if (!comments.has(commentId)) return notFound();
        const content = String((body as { content: unknown }).content);
        const key = `${commentId}:${content}:${appLogin}`;
        const existing = reactions.get(key);
        const reaction = existing ?? { id: nextId++, commentId, content, login: appLogin };
        reactions.set(key, reaction);
        return { status: existing ? 200 : 201, body: { id: reaction.id, node_id: `REA_${reaction.id}`, content, user: { login: appLogin, id: 2, type: "Bot" }, created_at: now() } };
      }
      case "dispatch": {
        if (!workflowExists(repo, params.workflow_id ?? "")) return notFound();
        const request = body as { ref: string; inputs?: Record<string, string>; return_run_details?: boolean };
        const workflowRunId = nextWorkflowRunId++;
        const issue = Number(request.inputs?.issue);
        dispatches.push({ workflowRunId, createdAt: now(), owner, repo: name, workflow: params.workflow_id!, ref: request.ref, inputs: request.inputs ?? {}, issue: Number.isInteger(issue) ? issue : null });
        if (!request.return_run_details) return { status: 204 };
        return {
          status: 200,
          body: {
            workflow_run_id: workflowRunId,
            run_url: `http://${server.host}/api/v3/repos/${owner}/${name}/actions/runs/${workflowRunId}`,
            html_url: `http://github.invalid/${owner}/${name}/actions/runs/${workflowRunId}`,
          },
        };
      }
      case "list-workflow-runs": {
        // The run's name as Conveyor's implementer workflow sets it (run-name: conveyor <run> round <n>).
        const created = /^>=(.+)$/.exec(query.created ?? "")?.[1];
        const runs = dispatches
          .filter((d) => d.owner === owner && d.repo === name && d.workflow === params.workflow_id)
          .filter(() => !query.event || query.event === "workflow_dispatch")
          .filter((d) => !query.branch || query.branch === d.ref)
          .filter((d) => !created || d.createdAt >= new Date(created).toISOString())
          .reverse();
        const perPage = Math.min(100, Math.max(1, Number(query.per_page ?? 30)));
        const page = Math.max(1, Number(query.page ?? 1));
        return {
          status: 200,
          body: {
            total_count: runs.length,
            workflow_runs: runs.slice((page - 1) * perPage, page * perPage).map((d) => ({
              id: d.workflowRunId,
              name: "Conveyor implement",
              display_title: `conveyor ${d.inputs.run_id} round ${d.inputs.round}`,
              event: "workflow_dispatch",
              status: "queued",
              conclusion: null,
              head_branch: d.ref,
              path: `.github/workflows/${d.workflow}`,
              created_at: d.createdAt,
              updated_at: d.createdAt,
            })),
          },
        };
      }
      case "get-permission": {
        const login = params.username ?? "";
        const permission = permissionOf(login);
        const legacy = permission === "maintain" ? "write" : permission === "triage" ? "read" : permission;
        return { status: 200, body: { permission: legacy, role_name: permission, user: { login, id: 3, type: "User" } } };
      }
      case "update-issue": {
        const issue = Number(params.issue_number);
        const request = body as { state?: string; state_reason?: string };
        if (request.state === "closed") closed.add(issueKey(owner, name, issue));
        if (request.state === "open") closed.delete(issueKey(owner, name, issue));
        return { status: 200, body: { number: issue, state: closed.has(issueKey(owner, name, issue)) ? "closed" : "open", state_reason: request.state_reason ?? null } };
      }
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    const method = (req.method ?? "GET").toUpperCase();
    const path = url.pathname.startsWith("/api/v3/") ? url.pathname.slice("/api/v3".length) : url.pathname;
    const query = Object.fromEntries(url.searchParams.entries());
    const found = url.pathname.startsWith("/api/v3/") ? findOperation(method, path) : undefined;
    const kind: RequestKind = (found && ROUTES[found.operation.key]) ?? "unexpected";
    const params = found?.params ?? {};
    const record: RecordedGitHubRequest = {
      seq: records.length + 1,
      kind,
      method,
      path,
      params,
      query,
      body,
      issue: issueOf(kind, params, body),
      status: null,
      injected: false,
      invalid: found ? [...found.operation.validateParams(params, query), ...found.operation.validateBody(body)] : [],
      receivedAt: Date.now(),
      tookEffectAt: null,
      clientGone: false,
    };
    records.push(record);

    const [min, max] = faults.latencyByKind?.[kind] ?? faults.latencyMs ?? [0, 0];
    const drawn = min + random() * (max - min);
    const latency = faults.latencyOf?.(record) ?? drawn;
    const fault = random() < (faults.errorRate ?? 0) && (!faults.errorKinds || faults.errorKinds.includes(kind));
    let answer: Answer;
    await sleep(latency / 2);
    if (fault) {
      record.injected = true;
      answer = { status: 502, body: { message: "Server Error (injected by the fake GitHub server)" } };
    } else if (record.invalid.length > 0) {
      answer = { status: 422, body: { message: "Validation Failed", errors: record.invalid } };
    } else {
      answer = handle(kind, params, query, body, { authorization: String(req.headers.authorization ?? ""), accept: String(req.headers.accept ?? "") });
    }
    if (!fault) record.tookEffectAt = Date.now();
    // The request has taken effect (or not); a client killed from here on never learns the answer.
    await sleep(latency - latency / 2);
    record.status = answer.status;
    record.clientGone = req.socket.destroyed || res.destroyed;
    const raw = typeof answer.body === "string" && answer.headers?.["content-type"]?.includes("raw");
    const payload = answer.status === 204 || answer.body === undefined ? "" : raw ? (answer.body as string) : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      ...(payload ? { "content-type": "application/json; charset=utf-8" } : {}),
      "x-github-request-id": `FAKE:${record.seq}`,
      "x-ratelimit-remaining": "4999",
      ...answer.headers,
    });
    res.end(payload);
  }

  const http = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: `fake-github-server: ${(error as Error).message}` }));
    });
  });
  // A killed client leaves half-open sockets behind; never let them hold close() up.
  http.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = http.address() as AddressInfo;

  const taken = (r: RecordedGitHubRequest) => !r.injected && r.status !== null && r.status >= 200 && r.status < 300;

  const server: FakeGitHubServer = {
    host: `127.0.0.1:${port}`,
    baseUrl: `http://127.0.0.1:${port}/api/v3`,
    all: () => records,
    requests: (kind, filter = {}) =>
      records.filter((r) => r.kind === kind && taken(r) && (filter.issue === undefined || r.issue === filter.issue)).sort((a, b) => a.tookEffectAt! - b.tookEffectAt! || a.seq - b.seq),
    counts() {
      const counts = Object.fromEntries([...Object.values(ROUTES), "unexpected"].map((k) => [k, 0])) as Record<RequestKind, number>;
      for (const r of records) if (!r.injected && r.status !== null) counts[r.kind]++;
      return counts;
    },
    faults() {
      const counts: Partial<Record<RequestKind, number>> = {};
      for (const r of records) if (r.injected) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
      return counts;
    },
    problems: () => records.filter((r) => r.kind === "unexpected" || r.invalid.length > 0 || r.status === 401),
    inFlight: (kind) => records.filter((r) => r.status === null && (kind === undefined || r.kind === kind)),
    lostResponses: (kind) => records.filter((r) => r.clientGone && taken(r) && (kind === undefined || r.kind === kind)),
    comments: (issue) => [...comments.values()].filter((c) => issue === undefined || c.issue === issue).sort((a, b) => a.id - b.id),
    addComment(issue, body, login, repo = repos[0]!) {
      return addComment(repo.owner, repo.name, issue, body, { login, type: "User" });
    },
    dispatches: () => [...dispatches],
    reactions: (commentId) => [...reactions.values()].filter((r) => commentId === undefined || r.commentId === commentId).map(({ commentId: id, content, login }) => ({ commentId: id, content, login })),
    setBranch(branch, sha, repo = repos[0]!) {
      branches.set(`${repo.owner}/${repo.name}:${branch}`.toLowerCase(), sha);
    },
    issueState: (issue, repo = repos[0]!) => (closed.has(issueKey(repo.owner, repo.name, issue)) ? "closed" : "open"),
    setFaults(next) {
      faults = { ...faults, ...next };
      if (next.seed !== undefined) random = seededRandom(next.seed);
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  return server;
}
