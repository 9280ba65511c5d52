import type { Feedback } from "./run.js";

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

/**
 * GitHub refuses a dispatch whose inputs together pass 65,535 characters; the feedback input is
 * the only one that grows (log excerpts, long reviews). Room is left for the other inputs.
 */
export const FEEDBACK_INPUT_LIMIT = 60_000;

/**
 * The feedback as the `feedback` input (JSON), within `limit` characters: items are kept in order
 * while they fit, the first that does not is cut, and the rest are counted in a closing note, so
 * the agent learns that something was left out and where the rest is (the PR's checks and reviews).
 */
export function feedbackInput(feedback: Feedback | null, limit = FEEDBACK_INPUT_LIMIT): string {
  const whole = JSON.stringify(feedback);
  if (feedback === null || whole.length <= limit) return whole;
  const reserve = 200; // the closing note and JSON punctuation
  const summary = feedback.summary.slice(0, Math.floor(limit / 4));
  const items: string[] = [];
  let used = JSON.stringify({ ...feedback, summary, items: [] }).length + reserve;
  for (const item of feedback.items) {
    const cost = JSON.stringify(item).length + 1;
    if (used + cost <= limit) {
      items.push(item);
      used += cost;
      continue;
    }
    const room = limit - used - 40;
    if (room > 200) items.push(`${item.slice(0, room)}\n… (cut here)`);
    break;
  }
  const left = feedback.items.length - items.length;
  const note = `(feedback shortened to fit GitHub's limit on dispatch inputs${left > 0 ? `: ${left} more item${left === 1 ? "" : "s"} left out` : ""}; the pull request's checks and reviews have the rest)`;
  return JSON.stringify({ ...feedback, summary, items: [...items, note] });
}
