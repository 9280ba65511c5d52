/**
 * Redis key layout. Everything of one issue's runs shares the hash tag `{<repoId>-<issue>}`, so
 * the store's Lua scripts touch a single slot and work on Redis Cluster. Global indexes are
 * separate keys, written idempotently after a commit.
 */
export type IssueKey = string; // `<repoId>-<issueNumber>`

export function issueKey(repoId: number, issueNumber: number): IssueKey {
  return `${repoId}-${issueNumber}`;
}

export function issueKeyOfRunId(runId: string): IssueKey {
  return runId.split("-").slice(0, 2).join("-");
}

/** Pull request numbers per index hash: small hashes stay listpack-encoded (a few bytes an entry). */
export const PR_BUCKET = 100;

export class Keys {
  constructor(readonly prefix: string) {}
  /**
   * Hash of small fields (listpack): version, cursor (last applied log entry), state, runId,
   * archived (last log entry moved to the archive), tD/tR (the run's timer jobs: deadline or
   * expiry, and reminder).
   */
  meta(key: IssueKey) { return `${this.prefix}:{${key}}:meta`; }
  /** String: the latest run's record, plain JSON or compressed while it waits (codec.ts). */
  run(key: IssueKey) { return `${this.prefix}:{${key}}:run`; }
  /** Stream: events received for the issue, then what applying them did; applied entries move to the archive. */
  log(key: IssueKey) { return `${this.prefix}:{${key}}:log`; }
  /** String: compressed frames of log entries moved out of the stream (codec.ts); with the stream, the whole history. */
  archive(key: IssueKey) { return `${this.prefix}:{${key}}:archive`; }
  /** Hash: effectId → effect JSON (and `-<timer job id>` → "" for timers to cancel), committed with the run and removed once enqueued. */
  outbox(key: IssueKey) { return `${this.prefix}:{${key}}:outbox`; }
  /** Hash: what effects created on GitHub (comment ids, check run ids, …). */
  ledger(key: IssueKey) { return `${this.prefix}:{${key}}:ledger`; }
  /** String with TTL: a short claim on a side effect that must not run twice at once. */
  claim(key: IssueKey, name: string) { return `${this.prefix}:{${key}}:claim:${name}`; }
  /** Sorted set: event sources (delivery ids, effect ids; digested) already appended, scored by when the mark expires (ms). */
  seen(key: IssueKey) { return `${this.prefix}:{${key}}:seen`; }
  /** Sorted set: issue keys of non-terminal runs, scored by when they became live (ms). */
  active() { return `${this.prefix}:runs:active`; }
  /** Sorted set: every issue key that ever had a run, scored by creation (ms). */
  all() { return `${this.prefix}:runs:all`; }
  /** Hash: pull request number → issue number, for one repository's PRs numbered within one bucket of PR_BUCKET. */
  pullRequests(repoId: number, pr: number) { return `${this.prefix}:idx:pr:${repoId}:${Math.floor(pr / PR_BUCKET)}`; }
  workflowRun(workflowRunId: number) { return `${this.prefix}:idx:wfrun:${workflowRunId}`; }
  /** Hash: what ingress must know of a repository's config before any run exists (label, command prefix). */
  repoSettings(repoId: number) { return `${this.prefix}:repo:${repoId}`; }
}
