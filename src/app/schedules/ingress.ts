import { z } from "zod";
import type { Logger } from "pino";
import type { RepoRef } from "../../pipeline/run.js";
import { SCHEDULE_JOB_OPTIONS, type ScheduleQueue } from "../../queue/schedulers.js";
import { CONFIG_PATH } from "../effects/load-config.js";
import { scheduleCommandArgs } from "./commands.js";

// Webhooks that concern schedules: they only decide whether they care and enqueue a job (the
// delivery id in the job id, so a redelivery adds nothing); the schedule worker does the rest.

export const SCHEDULE_EVENTS = ["push", "installation", "installation_repositories", "issue_comment"] as const;

const Installation = z.object({ id: z.number().int().positive() });
const RepoSummary = z.object({ id: z.number().int().positive(), full_name: z.string() });
const Owner = z.object({ login: z.string().optional(), name: z.string().nullable().optional() });

const PushPayload = z.object({
  ref: z.string(),
  installation: Installation,
  repository: z.object({ id: z.number().int().positive(), name: z.string(), owner: Owner, default_branch: z.string().optional(), master_branch: z.string().optional() }),
  commits: z.array(z.object({ added: z.array(z.string()).default([]), modified: z.array(z.string()).default([]), removed: z.array(z.string()).default([]) })).default([]),
  head_commit: z.object({ id: z.string() }).nullable().optional(),
});
const InstallationPayload = z.object({ action: z.string(), installation: Installation, repositories: z.array(RepoSummary).nullable().optional() });
const InstallationRepositoriesPayload = z.object({
  action: z.string(),
  installation: Installation,
  repositories_added: z.array(RepoSummary).default([]),
  repositories_removed: z.array(RepoSummary).default([]),
});
const CommentPayload = z.object({
  action: z.literal("created"),
  installation: Installation,
  repository: z.object({ id: z.number().int().positive(), name: z.string(), owner: z.object({ login: z.string() }) }),
  issue: z.object({ number: z.number().int().positive() }),
  comment: z.object({ id: z.number().int(), body: z.string().nullable(), created_at: z.string(), user: z.object({ login: z.string(), type: z.string().optional() }) }),
});

export interface ScheduleDelivery {
  id: string;
  name: string;
  payload: unknown;
}

/** The repository's command prefix (what ingress knows of its config). */
export type CommandPrefixOf = (repoId: number) => Promise<string>;

export class ScheduleIngress {
  constructor(
    private readonly queue: ScheduleQueue,
    private readonly commandPrefixOf: CommandPrefixOf,
    private readonly log: Logger,
  ) {}

  /** Returns what was enqueued (for logs and tests). */
  async accept(delivery: ScheduleDelivery): Promise<string> {
    const { id, name, payload } = delivery;
    switch (name) {
      case "push": {
        const parsed = PushPayload.safeParse(payload);
        if (!parsed.success) return "ignored: malformed push";
        const p = parsed.data;
        const defaultBranch = p.repository.default_branch ?? p.repository.master_branch;
        if (!defaultBranch || p.ref !== `refs/heads/${defaultBranch}`) return "ignored: not the default branch";
        // GitHub lists at most 2048 commits (and none for some pushes): then sync to be sure.
        const touched = p.commits.length === 0 || p.commits.some((commit) => [...commit.added, ...commit.modified, ...commit.removed].includes(CONFIG_PATH));
        if (!touched) return "ignored: the push does not change the config";
        const owner = p.repository.owner.login ?? p.repository.owner.name ?? "";
        await this.sync({ id: p.repository.id, owner, name: p.repository.name, installationId: p.installation.id }, `push ${p.head_commit?.id.slice(0, 12) ?? ""}`.trim(), `sync-${id}`, defaultBranch);
        return "sync";
      }
      case "installation": {
        const parsed = InstallationPayload.safeParse(payload);
        if (!parsed.success) return "ignored: malformed installation";
        const p = parsed.data;
        const repos = (p.repositories ?? []).map((repo) => repoOf(repo, p.installation.id));
        if (["created", "new_permissions_accepted", "unsuspend"].includes(p.action)) return this.syncAll(repos, `installation.${p.action}`, id);
        if (["deleted", "suspend"].includes(p.action)) return this.removeAll(repos, `installation.${p.action}`, id);
        return `ignored: installation.${p.action}`;
      }
      case "installation_repositories": {
        const parsed = InstallationRepositoriesPayload.safeParse(payload);
        if (!parsed.success) return "ignored: malformed installation_repositories";
        const p = parsed.data;
        const added = await this.syncAll(p.repositories_added.map((repo) => repoOf(repo, p.installation.id)), `installation_repositories.${p.action}`, id);
        const removed = await this.removeAll(p.repositories_removed.map((repo) => repoOf(repo, p.installation.id)), `installation_repositories.${p.action}`, id);
        return `${added}; ${removed}`;
      }
      case "issue_comment": {
        const body = (payload as { comment?: { body?: unknown } })?.comment?.body;
        if (typeof body !== "string" || !/schedules/i.test(body)) return "ignored: no schedules command";
        const parsed = CommentPayload.safeParse(payload);
        if (!parsed.success) return "ignored: not a new comment";
        const p = parsed.data;
        const user = p.comment.user;
        if (user.type === "Bot" || user.login.endsWith("[bot]")) return "ignored: comment by a bot";
        const commands = scheduleCommandArgs(p.comment.body ?? "", p.comment.id, await this.commandPrefixOf(p.repository.id));
        if (commands.length === 0) return "ignored: no schedules command";
        const repo: RepoRef = { id: p.repository.id, owner: p.repository.owner.login, name: p.repository.name, installationId: p.installation.id };
        await this.queue.add(
          "command",
          { kind: "command", repo, issue: p.issue.number, commentId: p.comment.id, login: user.login, createdAt: p.comment.created_at, commands },
          { ...SCHEDULE_JOB_OPTIONS.work, jobId: `cmd-${repo.id}-${p.comment.id}` },
        );
        this.log.info({ repoId: repo.id, commentId: p.comment.id, commands }, "schedules: command queued");
        return "command";
      }
      default:
        return `ignored: ${name}`;
    }
  }

  private async sync(repo: RepoRef, reason: string, jobId: string, defaultBranch?: string): Promise<void> {
    await this.queue.add("sync", { kind: "sync", repo, reason, ...(defaultBranch ? { defaultBranch } : {}) }, { ...SCHEDULE_JOB_OPTIONS.work, jobId });
    this.log.info({ repoId: repo.id, reason }, `schedules: sync of ${repo.owner}/${repo.name} queued`);
  }

  private async syncAll(repos: RepoRef[], reason: string, deliveryId: string): Promise<string> {
    for (const repo of repos) await this.sync(repo, reason, `sync-${deliveryId}-${repo.id}`);
    return `sync ${repos.length}`;
  }

  private async removeAll(repos: RepoRef[], reason: string, deliveryId: string): Promise<string> {
    for (const repo of repos) await this.queue.add("remove-repo", { kind: "remove-repo", repoId: repo.id, reason }, { ...SCHEDULE_JOB_OPTIONS.work, jobId: `remove-${deliveryId}-${repo.id}` });
    return `remove ${repos.length}`;
  }
}

function repoOf(repo: { id: number; full_name: string }, installationId: number): RepoRef {
  const [owner = "", name = ""] = repo.full_name.split("/");
  return { id: repo.id, owner, name, installationId };
}
