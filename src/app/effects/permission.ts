import { DEFAULT_CONFIG } from "../../pipeline/config.js";
import type { EffectOf } from "../../pipeline/effects.js";
import type { Guarded, Permission, PipelineEvent } from "../../pipeline/events.js";
import { CODEOWNERS_PATHS, ownersOf, parseCodeowners } from "../codeowners.js";
import { readFirstFile, repoParams, type GitHubContext, type Octokit } from "./octokit.js";

/**
 * A user's permission on a repository, with GitHub's `maintain` and `triage` roles told apart
 * (the legacy `permission` field reports them as write and read); "none" for a non-collaborator.
 */
export async function collaboratorPermission(octokit: Octokit, repo: { owner: string; repo: string }, login: string): Promise<Permission> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login });
    return (data.role_name === "maintain" ? "maintain" : data.role_name === "triage" ? "triage" : data.permission) as Permission;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return "none";
    throw error;
  }
}

function permissionOf(context: GitHubContext, login: string): Promise<Permission> {
  return collaboratorPermission(context.octokit, repoParams(context.run), login);
}

async function isTeamMember(context: GitHubContext, team: string, login: string): Promise<boolean> {
  const [org, slug] = team.split("/") as [string, string];
  try {
    const { data } = await context.octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: slug, username: login });
    return data.state === "active";
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}

/** Whether `owner` (`@user` or `@org/team`) is this reviewer. */
async function isOwner(context: GitHubContext, owner: string, login: string): Promise<boolean> {
  const name = owner.replace(/^@/, "");
  if (!name.includes("/")) return name.toLowerCase() === login.toLowerCase();
  return isTeamMember(context, name, login);
}

/**
 * Who may approve besides having write access (config `approval`): not the person who started
 * the run when separation of duties is on; then, if any are configured, a listed user, a member
 * of a listed team, or a code owner of at least one changed path.
 */
async function eligibility(context: GitHubContext, login: string): Promise<{ ok: boolean; why: string }> {
  const rules = (context.run.config ?? DEFAULT_CONFIG).approval;
  if (rules.separationOfDuties && login.toLowerCase() === context.run.startedBy.toLowerCase()) {
    return { ok: false, why: "you started this run, and this repository requires approval by someone else (separation of duties)" };
  }
  const { users, teams, codeowners } = rules.from;
  if (users.length === 0 && teams.length === 0 && !codeowners) return { ok: true, why: "" };
  if (users.some((user) => user.toLowerCase() === login.toLowerCase())) return { ok: true, why: "listed approver" };
  for (const team of teams) if (await isTeamMember(context, team, login)) return { ok: true, why: `member of ${team}` };
  const allowed = [...users.map((user) => `@${user}`), ...teams.map((team) => `@${team}`)];
  if (codeowners && context.run.pr) {
    const text = await readFirstFile(context, CODEOWNERS_PATHS);
    if (text) {
      const parsed = parseCodeowners(text);
      const files = await context.octokit.paginate(context.octokit.rest.pulls.listFiles, { ...repoParams(context.run), pull_number: context.run.pr.number, per_page: 100 });
      const owners = new Set(files.flatMap((file) => ownersOf(parsed, file.filename)));
      for (const owner of owners) if (await isOwner(context, owner, login)) return { ok: true, why: `code owner (${owner})` };
      allowed.push("the code owners of the changed files");
    } else {
      allowed.push("the code owners (this repository has no CODEOWNERS file)");
    }
  }
  return { ok: false, why: `approvals must come from ${allowed.join(", ")}` };
}

/** A requested-changes review's inline comments, `path:line comment`, for the implementer's feedback. */
async function withInlineComments(context: GitHubContext, subject: Guarded): Promise<Guarded> {
  if (subject.kind !== "review" || subject.state !== "changes_requested" || !context.run.pr) return subject;
  const comments = await context.octokit.paginate(context.octokit.rest.pulls.listCommentsForReview, {
    ...repoParams(context.run),
    pull_number: context.run.pr.number,
    review_id: subject.reviewId,
    per_page: 100,
  });
  return { ...subject, comments: comments.map((comment) => `${comment.path}${comment.line ?? comment.original_line ? `:${comment.line ?? comment.original_line}` : ""} ${comment.body}`) };
}

export async function checkPermission(effect: EffectOf<"check-permission">, context: GitHubContext): Promise<PipelineEvent> {
  const permission = await permissionOf(context, effect.login);
  const authorized = permission === "admin" || permission === "maintain" || permission === "write";
  const subject = authorized ? await withInlineComments(context, effect.subject) : effect.subject;
  const approving = authorized && subject.kind === "review" && subject.state === "approved";
  return {
    type: "permission.checked",
    at: context.now(),
    login: effect.login,
    permission,
    subject,
    ...(approving ? { eligible: await eligibility(context, effect.login) } : {}),
  };
}
