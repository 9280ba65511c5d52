/** One line of `conveyor doctor`'s report. */
export interface Check {
  name: string;
  ok: boolean;
  /** What was found, or what to fix. */
  detail: string;
  /** A warning: worth fixing, but Conveyor runs. */
  warning?: boolean;
  /** The repository the check is about (`owner/name`). */
  repo?: string;
  /** Problems one by one (a config's invalid fields), each with what to do about it. */
  problems?: CheckProblem[];
}

export interface CheckProblem {
  /** The field's path (`review.blockOn`); null when the problem is the file as a whole. */
  field: string | null;
  /** As the app reports it on an issue. */
  message: string;
  fix: string;
}

export const passes = (check: Check) => check.ok || check.warning === true;

/**
 * What a failed GitHub request means for the operator: a 5xx or a network error is GitHub's or
 * the network's (try again), a 401 or 403 is the app's setup.
 */
export function describeGitHubFailure(what: string, error: unknown): string {
  const status = (error as { status?: unknown }).status;
  const message = (error as Error).message;
  if (typeof status !== "number") return `${what} failed: ${message}: check the network and, for GitHub Enterprise Server, GHE_HOST and GHE_PROTOCOL`;
  if (status >= 500) return `${what} failed: GitHub answered ${status} (${message}): a problem on GitHub's side or on the way there, not in your setup; run conveyor doctor again in a few minutes (https://www.githubstatus.com)`;
  if (status === 401) return `${what} failed (401 ${message}): APP_ID and PRIVATE_KEY do not belong together, or the key was revoked; generate a new key in the app's settings`;
  if (status === 403) return `${what} failed (403 ${message}): the app lacks a permission or hit a rate limit; check that the installation accepted the permissions app.yml asks for (contents, issues, pull requests, checks and actions: write)`;
  return `${what} failed (${status} ${message})`;
}
