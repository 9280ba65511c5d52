/**
 * The branch a run's implementer pushes to: `conveyor/<issue>-<slug of the title>`. Derived from
 * the issue alone, so a retried dispatch, the PR lookup and the webhook routing all agree on it
 * without storing it first.
 */
export function branchFor(issueNumber: number, title: string): string {
  const slug = title
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
  return slug ? `conveyor/${issueNumber}-${slug}` : `conveyor/${issueNumber}`;
}

/**
 * The implementer workflow's run name (its caller sets `run-name` from the inputs): the second
 * key, after the dispatch's workflow_run_id, that ties a workflow run back to a Conveyor run.
 */
export function implementRunName(runId: string, round: number): string {
  return `conveyor ${runId} round ${round}`;
}

export function parseImplementRunName(name: string): { runId: string; round: number } | null {
  const match = /^conveyor (\d+-\d+-\d+) round (\d+)$/.exec(name.trim());
  return match ? { runId: match[1]!, round: Number(match[2]) } : null;
}

/** The inputs Conveyor dispatches the implementer workflow with; its `workflow_dispatch` must declare each. */
export const IMPLEMENT_INPUTS = ["run_id", "round", "issue", "branch", "feedback"] as const;
