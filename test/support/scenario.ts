// A GitHub repository as the pipeline sees it, faked at HTTP level: the interceptors one whole run
// needs, so scenario tests read as the story they tell.
import { actionsJob } from "./github/actions-logs.js";
import type { FakeGitHub, Reply } from "./github/fake-github.js";
import { webhook } from "./github/webhooks.js";

export const REPO = { owner: "Codertocat", repo: "Hello-World" };
export const REPO_ID = 186853002;
export const ISSUE = 1;
export const KEY = `${REPO_ID}-${ISSUE}`;
export const RUN_ID = `${KEY}-1`;
export const BRANCH = "conveyor/1-spelling-error-in-the-readme-file";
export const PR = 7;

const bodyOf = (request: { body: unknown }) => (request.body as { body?: string }).body ?? "";

/** Everything a run does around its stages: config, status comment, Conveyor check run, permissions. */
export function repositoryBasics(gh: FakeGitHub, options: { config?: string; permissions?: Record<string, string> } = {}) {
  gh.installationToken();
  if (options.config) {
    gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...REPO, path: ".github/conveyor.yml" }, { status: 200, body: options.config }, { persist: true });
  } else {
    gh.on("GET /repos/{owner}/{repo}/contents/{path}", { ...REPO, path: ".github/conveyor.yml" }, { status: 404, body: { message: "Not Found" } }, { persist: true });
    gh.on("GET /repos/{owner}/{repo}/contents/{path}", { owner: REPO.owner, repo: ".github", path: ".github/conveyor.yml" }, { status: 404, body: { message: "Not Found" } }, { persist: true });
  }
  gh.on("GET /repos/{owner}/{repo}", REPO, { status: 200, body: { id: REPO_ID, name: REPO.repo, full_name: `${REPO.owner}/${REPO.repo}`, default_branch: "main" } }, { persist: true });
  // The sticky status comment: created once, edited after.
  gh.on("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...REPO, issue_number: ISSUE }, { status: 200, body: [] }, { persist: true });
  let nextComment = 100;
  gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { ...REPO, issue_number: ISSUE }, (request) => ({ status: 201, body: { id: ++nextComment, body: bodyOf(request) } }), { persist: true });
  gh.on("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", { ...REPO }, (request) => ({ status: 200, body: { id: Number(request.params.comment_id), body: bodyOf(request) } }), { persist: true, optional: true });
  gh.on("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", { ...REPO }, { status: 201, body: { id: 1, content: "+1" } }, { persist: true, optional: true });
  // Check runs: Conveyor's own (by name) first, then whatever CI reports.
  let nextCheck = 9000;
  gh.on("POST /repos/{owner}/{repo}/check-runs", REPO, (request) => ({ status: 201, body: { id: ++nextCheck, name: (request.body as { name: string }).name } }), { persist: true, optional: true });
  gh.on("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", REPO, (request) => ({ status: 200, body: { id: Number(request.params.check_run_id) } }), { persist: true, optional: true });
  const permissions = options.permissions ?? { maintainer: "write" };
  gh.on("GET /repos/{owner}/{repo}/collaborators/{username}/permission", REPO, (request) => {
    const permission = permissions[request.params.username!] ?? "read";
    return { status: 200, body: { permission, role_name: permission, user: { login: request.params.username } } };
  }, { persist: true, optional: true });
}

export interface Head {
  sha: string;
  /** The PR's files as `pulls/{n}/files` lists them. */
  files: { filename: string; status: string; patch: string; content: string }[];
}

export interface ImplementerOptions {
  /**
   * The answer to the n-th dispatch (1-based); undefined keeps the default (200 with
   * `workflow_run_id` 500 + n). A non-2xx answer does not count as a dispatch.
   */
  dispatch?: (n: number) => Reply | undefined;
  /** False when the scenario never gets as far as looking for the PR (default true). */
  expectPr?: boolean;
}

/** The implementer's branch and the PR that Conveyor opens from it. */
export function implementer(gh: FakeGitHub, heads: Head[], options: ImplementerOptions = {}) {
  let dispatches = 0;
  let attempts = 0;
  let head: Head | null = null;
  gh.on("GET /repos/{owner}/{repo}/branches/{branch}", { ...REPO, branch: BRANCH }, () =>
    head ? { status: 200, body: { name: BRANCH, commit: { sha: head.sha } } } : { status: 404, body: { message: "Branch not found" } },
  { persist: true });
  gh.on("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", { ...REPO, workflow_id: "conveyor-implement.yml" }, () => {
    const custom = options.dispatch?.(++attempts);
    if (custom && (custom.status ?? 200) >= 300) return custom;
    dispatches++;
    return custom ?? { status: 200, body: { workflow_run_id: 500 + dispatches, run_url: "", html_url: "" } };
  }, { persist: true });
  let pullOpen = false;
  gh.on("GET /repos/{owner}/{repo}/pulls", REPO, () => ({ status: 200, body: pullOpen && head ? [{ number: PR, head: { sha: head.sha, ref: BRANCH } }] : [] }), { persist: true, optional: options.expectPr === false });
  gh.on("POST /repos/{owner}/{repo}/pulls", REPO, () => {
    pullOpen = true;
    return { status: 201, body: { number: PR, head: { sha: head!.sha, ref: BRANCH } } };
  }, { optional: true });
  gh.on("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", { ...REPO, pull_number: PR }, { status: 200, body: { number: PR } }, { persist: true, optional: true });
  gh.on("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", { ...REPO, pull_number: PR }, () => ({ status: 200, body: head!.files.map(({ content: _content, ...file }) => file) }), { persist: true, optional: true });
  gh.on("GET /repos/{owner}/{repo}/compare/{basehead}", REPO, (request) => {
    const [, to] = request.params.basehead!.split("...");
    const target = heads.find((candidate) => candidate.sha === to)!;
    return { status: 200, body: { status: "ahead", files: target.files.map(({ content: _content, ...file }) => file) } };
  }, { persist: true, optional: true });
  gh.on("GET /repos/{owner}/{repo}/contents/{path}", REPO, (request) => {
    const ref = String(request.query.ref ?? "");
    const file = heads.find((candidate) => candidate.sha === ref)?.files.find((one) => one.filename === request.params.path);
    return file ? { status: 200, body: file.content } : { status: 404, body: { message: "Not Found" } };
  }, { persist: true, optional: true });
  return {
    /** The agent pushed this head: the branch moves. */
    push(next: Head) {
      head = next;
    },
    get dispatches() {
      return dispatches;
    },
    /** The workflow_run webhook GitHub sends when the dispatched run ends. */
    finished(round: number, conclusion: "success" | "failure" | "cancelled" = "success") {
      return webhook("workflow_run", "completed", {
        repository: { id: REPO_ID, name: REPO.repo, owner: { login: REPO.owner } },
        workflow_run: { id: 500 + dispatches, display_title: `conveyor ${RUN_ID} round ${round}`, name: "Conveyor implement", conclusion, head_sha: "0000000", html_url: `https://github.com/${REPO.owner}/${REPO.repo}/actions/runs/${500 + dispatches}`, pull_requests: [] },
      });
    },
  };
}

/** Reviews: a PR review per round and one check run per angle. */
export function reviewing(gh: FakeGitHub) {
  let nextReview = 700;
  gh.on("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", { ...REPO, pull_number: PR }, { status: 200, body: [] }, { persist: true, optional: true });
  gh.on("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews", { ...REPO, pull_number: PR }, () => ({ status: 200, body: { id: ++nextReview } }), { persist: true, optional: true });
}

/**
 * The repository's own CI on a sha: the check runs `commits/{sha}/check-runs` lists. A check with
 * a `job` is a GitHub Actions job (its log: test/support/github/actions-logs.ts).
 */
export function ci(gh: FakeGitHub, results: Record<string, { name: string; conclusion: string | null; summary?: string; status?: "queued" | "in_progress" | "completed"; job?: number }[]>) {
  gh.on("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", REPO, (request) => {
    const name = request.query.check_name;
    const all = (results[request.params.ref!] ?? []).map((check, index) => ({
      id: 100 + index,
      name: check.name,
      status: check.status ?? "completed",
      conclusion: check.conclusion,
      external_id: "",
      html_url: `https://github.com/${REPO.owner}/${REPO.repo}/runs/${100 + index}`,
      ...(check.job ? actionsJob(check.job, REPO.owner, REPO.repo) : {}),
      output: { title: check.conclusion ?? check.status ?? "", summary: check.summary ?? "", text: "" },
    }));
    const checks = name ? all.filter((check) => check.name === name) : all;
    return { status: 200, body: { total_count: checks.length, check_runs: checks } };
  }, { persist: true });
}

/** Merge and close. */
export function merging(gh: FakeGitHub) {
  gh.on("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", { ...REPO, pull_number: PR }, { status: 200, body: { merged: true, sha: "merged", message: "merged" } }, { optional: true });
  gh.on("PATCH /repos/{owner}/{repo}/issues/{issue_number}", { ...REPO, issue_number: ISSUE }, { status: 200, body: { number: ISSUE, state: "closed" } }, { optional: true });
}

export function approval(login: string, sha: string, options: { state?: "approved" | "changes_requested"; body?: string; bot?: boolean; pr?: number; branch?: string } = {}) {
  return webhook("pull_request_review", "submitted", {
    repository: { id: REPO_ID },
    pull_request: { number: options.pr ?? PR, head: { ref: options.branch ?? BRANCH, sha } },
    review: { id: Math.floor(Math.random() * 1e6), state: options.state ?? "approved", body: options.body ?? "", commit_id: sha, user: { login, type: options.bot ? "Bot" : "User" } },
  });
}

export function prComment(login: string, body: string, commentId = Math.floor(Math.random() * 1e6)) {
  return webhook("issue_comment", "created", {
    repository: { id: REPO_ID },
    issue: { number: PR, pull_request: { url: "https://api.github.com/x" } },
    comment: { id: commentId, body, user: { login, type: "User" } },
  });
}

export const labeled = () => webhook("issues", "labeled", { label: { name: "conveyor" } });

/** A comment on the issue itself (or, with `issue`, on another issue); `bot` marks the author as a bot account. */
export function issueComment(login: string, body: string, options: { issue?: number; commentId?: number; bot?: boolean } = {}) {
  return webhook("issue_comment", "created", {
    repository: { id: REPO_ID },
    issue: { number: options.issue ?? ISSUE },
    comment: { id: options.commentId ?? Math.floor(Math.random() * 1e6), body, user: { login, type: options.bot ? "Bot" : "User" } },
  });
}

/** A comment on the run's PR by a bot account (type Bot). */
export function botPrComment(login: string, body: string, commentId = Math.floor(Math.random() * 1e6)) {
  return webhook("issue_comment", "created", {
    repository: { id: REPO_ID },
    issue: { number: PR, pull_request: { url: "https://api.github.com/x" } },
    comment: { id: commentId, body, user: { login, type: "Bot" } },
  });
}

export const unlabeled = (label = "conveyor") => webhook("issues", "unlabeled", { label: { name: label } });

/** Someone (a human, not the implementer workflow) pushed `sha` to the PR branch: pull_request.synchronize. */
export function pushed(sha: string, actor = "maintainer") {
  return webhook("pull_request", "synchronize", {
    repository: { id: REPO_ID },
    pull_request: { number: PR, head: { ref: BRANCH, sha } },
    sender: { login: actor },
  });
}

/** Any workflow_run.completed webhook: an unrelated workflow, a re-run of an old attempt, CI on the PR. */
export function workflowRun(run: { id: number; title: string; name?: string; conclusion?: "success" | "failure" | "cancelled"; attempt?: number; headSha?: string; pullRequests?: number[] }) {
  return webhook("workflow_run", "completed", {
    repository: { id: REPO_ID, name: REPO.repo, owner: { login: REPO.owner } },
    workflow_run: {
      id: run.id,
      display_title: run.title,
      name: run.name ?? run.title,
      conclusion: run.conclusion ?? "success",
      run_attempt: run.attempt ?? 1,
      head_sha: run.headSha ?? "0000000",
      html_url: `https://github.com/${REPO.owner}/${REPO.repo}/actions/runs/${run.id}`,
      pull_requests: (run.pullRequests ?? []).map((number) => ({ id: number, number, url: `https://api.github.com/repos/${REPO.owner}/${REPO.repo}/pulls/${number}`, head: { ref: BRANCH, sha: run.headSha ?? "0000000", repo: { id: REPO_ID, name: REPO.repo, url: "" } }, base: { ref: "main", sha: "0000000", repo: { id: REPO_ID, name: REPO.repo, url: "" } } })),
    },
  });
}
