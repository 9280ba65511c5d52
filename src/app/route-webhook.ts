import { z } from "zod";
import type { PipelineEvent } from "../pipeline/events.js";
import { parseCommands } from "./commands.js";
import { isScheduleCommand } from "./schedules/commands.js";

/**
 * Webhook payload → pipeline event. Pure: the payload schemas name only the fields Conveyor
 * reads, so GitHub adding fields never breaks ingress and a payload missing one is refused
 * with the path of what is missing.
 */
const Repository = z.object({ id: z.number().int(), name: z.string(), owner: z.object({ login: z.string() }) });
const Installation = z.object({ id: z.number().int() });
const User = z.object({ login: z.string(), type: z.string().optional() });
const Base = z.object({ repository: Repository, installation: Installation, sender: User });

const IssuesPayload = Base.extend({
  action: z.string(),
  issue: z.object({ number: z.number().int().positive(), title: z.string(), pull_request: z.unknown().optional() }),
  label: z.object({ name: z.string() }).optional(),
});
const IssueCommentPayload = Base.extend({
  action: z.literal("created"),
  issue: z.object({ number: z.number().int().positive(), pull_request: z.unknown().optional() }),
  comment: z.object({ id: z.number().int(), body: z.string().nullable(), user: User }),
});
const PullRequestPayload = Base.extend({
  action: z.string(),
  pull_request: z.object({
    number: z.number().int().positive(),
    merged: z.boolean().nullable().optional(),
    head: z.object({ ref: z.string(), sha: z.string() }),
  }),
});
const PullRequestReviewPayload = Base.extend({
  action: z.string(),
  review: z.object({
    id: z.number().int(),
    state: z.string(),
    body: z.string().nullable(),
    commit_id: z.string(),
    user: User.nullable(),
  }),
  pull_request: z.object({ number: z.number().int().positive(), head: z.object({ ref: z.string(), sha: z.string() }) }),
});

const PullRequestRefs = z.array(z.object({ number: z.number().int().positive() }));
const WorkflowRunPayload = Base.extend({
  action: z.string(),
  workflow_run: z.object({
    id: z.number().int(),
    name: z.string().nullable().optional(),
    display_title: z.string().nullable().optional(),
    conclusion: z.string().nullable(),
    head_sha: z.string(),
    html_url: z.string(),
    pull_requests: PullRequestRefs,
  }),
});
const CheckSuitePayload = Base.extend({
  action: z.string(),
  check_suite: z.object({ head_sha: z.string(), app: z.object({ name: z.string() }).nullable().optional(), pull_requests: PullRequestRefs }),
});
const CheckRunPayload = Base.extend({
  action: z.string(),
  check_run: z.object({ name: z.string(), head_sha: z.string(), pull_requests: PullRequestRefs }),
});

/** Which run an event belongs to, before Redis is asked. */
export type Route =
  | { kind: "issue"; repoId: number; issue: number }
  | { kind: "pull"; repoId: number; pr: number; branch: string }
  | { kind: "workflow-run"; repoId: number; workflowRunId: number; runName: string };

export type Routed = {
  route: Route;
  event: PipelineEvent;
  /** False only for events that may start a run (the trigger label). */
  requiresRun: boolean;
};

export type RouteResult =
  | { status: "routed"; routed: Routed[] }
  | { status: "ignored"; reason: string }
  | { status: "malformed"; problems: string[] };

export const BRANCH_PREFIX = "conveyor/";

/** `conveyor/42-fix-login` → 42. */
export function issueOfBranch(branch: string): number | null {
  const match = /^conveyor\/(\d+)(?:-|$)/.exec(branch);
  return match ? Number(match[1]) : null;
}

export const HANDLED_EVENTS = ["issues", "issue_comment", "pull_request", "pull_request_review", "workflow_run", "check_suite", "check_run"] as const;

const isBot = (user: { login: string; type?: string | undefined } | null) => !user || user.type === "Bot" || user.login.endsWith("[bot]");

export interface RouteOptions {
  /** The repository's command prefix (its config's `commandPrefix`). */
  commandPrefix?: string;
}

/** The repository id of a payload, read before routing (ingress needs the repo's settings). */
export function repositoryIdOf(payload: unknown): number | null {
  const parsed = z.object({ repository: z.object({ id: z.number().int() }) }).safeParse(payload);
  return parsed.success ? parsed.data.repository.id : null;
}

export function routeWebhook(name: string, payload: unknown, at: string, options: RouteOptions = {}): RouteResult {
  switch (name) {
    case "issues":
      return parse(IssuesPayload, payload, (p) => {
        if (p.issue.pull_request !== undefined) return ignored("labels and state of pull requests are not triggers");
        const route: Route = { kind: "issue", repoId: p.repository.id, issue: p.issue.number };
        if (p.action === "labeled" && p.label) {
          const event: PipelineEvent = {
            type: "issue.labeled",
            at,
            label: p.label.name,
            actor: p.sender.login,
            repo: { id: p.repository.id, owner: p.repository.owner.login, name: p.repository.name, installationId: p.installation.id },
            issue: { number: p.issue.number, title: p.issue.title },
          };
          return routed({ route, event, requiresRun: false });
        }
        if (p.action === "unlabeled" && p.label) return routed({ route, event: { type: "issue.unlabeled", at, label: p.label.name, actor: p.sender.login }, requiresRun: true });
        if (p.action === "closed") return routed({ route, event: { type: "issue.closed", at, actor: p.sender.login, isBot: isBot(p.sender) }, requiresRun: true });
        return ignored(`issues.${p.action} does not affect runs`);
      });
    case "issue_comment":
      if ((payload as { action?: unknown })?.action !== "created") return ignored("only new comments carry commands (edited ones are never executed)");
      return parse(IssueCommentPayload, payload, (p) => {
        // `/conveyor schedules …` is a repository command, handled by the schedules (src/app/schedules/).
        const commands = parseCommands(p.comment.body ?? "", p.comment.id, options.commandPrefix).filter((command) => !isScheduleCommand(command));
        if (commands.length === 0) return ignored("no command in the comment");
        const route: Route = p.issue.pull_request !== undefined ? { kind: "pull", repoId: p.repository.id, pr: p.issue.number, branch: "" } : { kind: "issue", repoId: p.repository.id, issue: p.issue.number };
        return {
          status: "routed",
          routed: commands.map((command) => ({ route, requiresRun: true, event: { type: "command.received", at, login: p.comment.user.login, isBot: isBot(p.comment.user), command } })),
        };
      });
    case "pull_request":
      return parse(PullRequestPayload, payload, (p) => {
        const route: Route = { kind: "pull", repoId: p.repository.id, pr: p.pull_request.number, branch: p.pull_request.head.ref };
        if (p.action === "synchronize") return routed({ route, event: { type: "pr.pushed", at, headSha: p.pull_request.head.sha, actor: p.sender.login }, requiresRun: true });
        if (p.action === "closed") return routed({ route, event: { type: "pr.closed", at, merged: p.pull_request.merged === true, actor: p.sender.login }, requiresRun: true });
        return ignored(`pull_request.${p.action} does not affect runs`);
      });
    case "pull_request_review":
      return parse(PullRequestReviewPayload, payload, (p) => {
        const route: Route = { kind: "pull", repoId: p.repository.id, pr: p.pull_request.number, branch: p.pull_request.head.ref };
        const user = p.review.user;
        if (p.action === "dismissed") return routed({ route, event: { type: "review.dismissed", at, reviewId: p.review.id }, requiresRun: true });
        if (p.action !== "submitted") return ignored(`pull_request_review.${p.action} does not affect runs`);
        const state = p.review.state.toLowerCase();
        if (state !== "approved" && state !== "changes_requested" && state !== "commented") return ignored(`review state ${p.review.state} does not affect runs`);
        return routed({
          route,
          requiresRun: true,
          event: {
            type: "review.submitted",
            at,
            login: user?.login ?? "ghost",
            isBot: isBot(user),
            review: { kind: "review", reviewId: p.review.id, state, sha: p.review.commit_id, body: p.review.body ?? "", comments: [] },
          },
        });
      });
    case "workflow_run":
      return parse(WorkflowRunPayload, payload, (p) => {
        if (p.action !== "completed") return ignored(`workflow_run.${p.action} does not affect runs`);
        const run = p.workflow_run;
        const runName = run.display_title ?? run.name ?? "";
        // Either the implementer of a run (found by its id or its name) or CI on a run's PR.
        const implement: Routed = {
          route: { kind: "workflow-run", repoId: p.repository.id, workflowRunId: run.id, runName },
          event: { type: "implement.completed", at, workflowRunId: run.id, runName, conclusion: run.conclusion ?? "unknown", url: run.html_url },
          requiresRun: true,
        };
        return { status: "routed", routed: [implement, ...ciReports(p.repository.id, run.pull_requests, run.head_sha, runName || `workflow run ${run.id}`, at)] };
      });
    case "check_suite":
      return parse(CheckSuitePayload, payload, (p) => {
        if (p.action !== "completed") return ignored(`check_suite.${p.action} does not affect runs`);
        const suite = p.check_suite;
        return routedAll(ciReports(p.repository.id, suite.pull_requests, suite.head_sha, `check suite of ${suite.app?.name ?? "an app"}`, at), "the check suite is on no pull request");
      });
    case "check_run":
      return parse(CheckRunPayload, payload, (p) => {
        if (p.action !== "completed") return ignored(`check_run.${p.action} does not affect runs`);
        if (p.check_run.name === "Conveyor" || p.check_run.name.startsWith("Conveyor / ")) return ignored("Conveyor's own check runs are not CI");
        return routedAll(ciReports(p.repository.id, p.check_run.pull_requests, p.check_run.head_sha, p.check_run.name, at), "the check run is on no pull request");
      });
    default:
      return ignored(`${name} events are not handled`);
  }
}

function parse<T>(schema: z.ZodType<T>, payload: unknown, map: (parsed: T) => RouteResult): RouteResult {
  const result = schema.safeParse(payload);
  if (!result.success) {
    return { status: "malformed", problems: result.error.issues.map((issue) => `${issue.path.join(".") || "(payload)"}: ${issue.message}`) };
  }
  return map(result.data);
}

function ciReports(repoId: number, pullRequests: { number: number }[], sha: string, check: string, at: string): Routed[] {
  return pullRequests.map((pr) => ({ route: { kind: "pull", repoId, pr: pr.number, branch: "" }, event: { type: "ci.reported", at, sha, check }, requiresRun: true }));
}

function routedAll(all: Routed[], reasonWhenNone: string): RouteResult {
  return all.length ? { status: "routed", routed: all } : ignored(reasonWhenNone);
}

function routed(one: Routed): RouteResult {
  return { status: "routed", routed: [one] };
}

function ignored(reason: string): RouteResult {
  return { status: "ignored", reason };
}
