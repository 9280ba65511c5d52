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
