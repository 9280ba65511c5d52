// Realistic pipeline events for benchmarks that drive runs without GitHub: repository and issue
// shapes as GitHub sends them (ids, logins, titles of ordinary length, 40-hex shas), and the
// result events the effect executors would return.
import { createHash } from "node:crypto";
import { ANGLES, RepoConfig } from "../../src/pipeline/config.js";
import type { EventOf } from "../../src/pipeline/events.js";
import type { RepoRef } from "../../src/pipeline/run.js";
import { issueKey, type IssueKey } from "../../src/queue/keys.js";

/** `.github/conveyor.yml` absent: every default, which runs implement → review → ci → approval → merge → close. */
export const DEFAULT_REPO_CONFIG: RepoConfig = RepoConfig.parse({});

const TITLES = [
  "Retry webhook deliveries with exponential backoff",
  "Add pagination to the /api/v2/projects endpoint",
  "Fix race in session refresh when two tabs are open",
  "Document the CONVEYOR_PREFIX environment variable",
  "Upgrade eslint to v9 and migrate to the flat config",
  "Show the last deploy time on the dashboard header",
  "Reject uploads larger than 25 MB with a clear message",
  "Cache repository settings for five minutes",
];

export interface Subject {
  key: IssueKey;
  repo: RepoRef;
  issue: { number: number; title: string };
  actor: string;
}

/** Run `i` of a benchmark: `repos` repositories of one installation, issues numbered from 1 per repo. */
export function subject(i: number, repos = 100): Subject {
  const repoIndex = i % repos;
  const number = Math.floor(i / repos) + 1;
  const repo: RepoRef = { id: 700_000_000 + repoIndex, owner: "acme-platform", name: `service-${String(repoIndex).padStart(3, "0")}`, installationId: 51_234_567 };
  return { key: issueKey(repo.id, number), repo, issue: { number, title: `${TITLES[i % TITLES.length]!} (#${number})` }, actor: `dev-${i % 37}` };
}

export function shaOf(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

export function branchOf(s: Subject): string {
  const slug = s.issue.title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/g, "");
  return `conveyor/${s.issue.number}-${slug}`;
}

export function workflowRunIdOf(s: Subject, round: number): number {
  return 9_000_000_000 + s.repo.id - 700_000_000 + s.issue.number * 1000 + round;
}

export function prNumberOf(s: Subject): number {
  return 10_000 + s.issue.number;
}

const now = () => new Date().toISOString();

export const events = {
  labeled: (s: Subject): EventOf<"issue.labeled"> => ({ type: "issue.labeled", at: now(), label: "conveyor", actor: s.actor, repo: s.repo, issue: s.issue }),
  configLoaded: (config: RepoConfig = DEFAULT_REPO_CONFIG): EventOf<"config.loaded"> => ({ type: "config.loaded", at: now(), config }),
  implementDispatched: (s: Subject, round: number): EventOf<"implement.dispatched"> => ({
    type: "implement.dispatched",
    at: now(),
    round,
    workflowRunId: workflowRunIdOf(s, round),
  }),
  /** workflow_run.completed of the implementer (a webhook); the run name is what the dispatch set. */
  implementCompleted: (s: Subject, runId: string, round: number): EventOf<"implement.completed"> => ({
    type: "implement.completed",
    at: now(),
    workflowRunId: workflowRunIdOf(s, round),
    runName: `conveyor ${runId} round ${round}`,
    conclusion: "success",
    url: `https://github.com/${s.repo.owner}/${s.repo.name}/actions/runs/${workflowRunIdOf(s, round)}`,
  }),
  /** inspect-implement's answer: the agent pushed changes. */
  implementFinished: (s: Subject, round: number): EventOf<"implement.finished"> => ({
    type: "implement.finished",
    at: now(),
    round,
    workflowRunId: workflowRunIdOf(s, round),
    outcome: "changed",
    detail: "",
  }),
  prOpened: (s: Subject, round: number): EventOf<"pr.opened"> => ({
    type: "pr.opened",
    at: now(),
    round,
    pr: { number: prNumberOf(s), branch: branchOf(s), headSha: shaOf(`${s.key}-${round}`) },
  }),
  reviewFinished: (round: number, sha: string): EventOf<"review.finished"> => ({
    type: "review.finished",
    at: now(),
    round,
    sha,
    outcomes: ANGLES.map((angle, i) => ({ angle, status: "ok" as const, blocking: 0, total: (i * 3) % 5 })),
    blocking: [],
    tokens: 18_432,
  }),
  ciFinished: (sha: string): EventOf<"ci.finished"> => ({ type: "ci.finished", at: now(), sha, conclusion: "success", failing: [] }),
  reviewSubmitted: (s: Subject, sha: string): EventOf<"review.submitted"> => ({
    type: "review.submitted",
    at: now(),
    login: "lead-reviewer",
    isBot: false,
    review: { kind: "review", reviewId: 2_000_000_000 + s.issue.number, state: "approved", sha, body: "", comments: [] },
  }),
  mergeFinished: (): EventOf<"merge.finished"> => ({ type: "merge.finished", at: now(), outcome: "merged", detail: "" }),
  closeFinished: (): EventOf<"close.finished"> => ({ type: "close.finished", at: now() }),
};
