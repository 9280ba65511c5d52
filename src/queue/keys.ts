/**
 * Redis key layout. Everything of one issue's runs shares the hash tag `{<repoId>-<issue>}`, so
 * the store's Lua scripts touch a single slot and work on Redis Cluster. Global indexes are
 * separate keys, written idempotently after a commit and repaired by the sweep.
 */
export type IssueKey = string; // `<repoId>-<issueNumber>`

export function issueKey(repoId: number, issueNumber: number): IssueKey {
  return `${repoId}-${issueNumber}`;
}

export function issueKeyOfRunId(runId: string): IssueKey {
  return runId.split("-").slice(0, 2).join("-");
}

export class Keys {
  constructor(readonly prefix: string) {}
  /** Hash: run (JSON), version, cursor (last applied log entry), state. */
  meta(key: IssueKey) { return `${this.prefix}:{${key}}:meta`; }
  /** Stream: every event received for the issue, then what applying it did. */
  log(key: IssueKey) { return `${this.prefix}:{${key}}:log`; }
  /** Hash: effectId → effect JSON, committed with the run and removed once enqueued. */
  outbox(key: IssueKey) { return `${this.prefix}:{${key}}:outbox`; }
  /** Hash: what effects created on GitHub (comment ids, check run ids, …). */
  ledger(key: IssueKey) { return `${this.prefix}:{${key}}:ledger`; }
  /** String with TTL: a short claim on a side effect that must not run twice at once. */
  claim(key: IssueKey, name: string) { return `${this.prefix}:{${key}}:claim:${name}`; }
  /** String with TTL: an event source (delivery id, effect id) already appended. */
  seen(key: IssueKey, source: string) { return `${this.prefix}:{${key}}:seen:${source}`; }
  /** Sorted set: issue keys of non-terminal runs, scored by last update (ms). */
  active() { return `${this.prefix}:runs:active`; }
  /** Sorted set: every issue key that ever had a run, scored by creation (ms). */
  all() { return `${this.prefix}:runs:all`; }
  pullRequest(repoId: number, pr: number) { return `${this.prefix}:idx:pr:${repoId}-${pr}`; }
  branch(repoId: number, branch: string) { return `${this.prefix}:idx:branch:${repoId}:${branch}`; }
  workflowRun(workflowRunId: number) { return `${this.prefix}:idx:wfrun:${workflowRunId}`; }
  /** Hash: what ingress must know of a repository's config before any run exists (label, command prefix). */
  repoSettings(repoId: number) { return `${this.prefix}:repo:${repoId}`; }
}
