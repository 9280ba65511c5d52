import { RepoConfig } from "../../pipeline/config.js";
import type { RepoRef } from "../../pipeline/run.js";
import { validateSchedules, type ScheduleRules } from "../../schedules/schema.js";
import type { SyncInput } from "../../queue/schedulers.js";
import { CONFIG_PATH } from "../effects/load-config.js";
import type { Octokit } from "../effects/octokit.js";

export interface LoadedSchedules extends SyncInput {
  defaultBranch: string;
  /** No `.github/conveyor.yml` (here or in the owner's `.github` repository). */
  missing: boolean;
}

/**
 * Reads the schedules of a repository's default branch as of its head commit, whose sha becomes
 * the schedules' version. Reading the head (rather than a push's `after`) makes syncs that race
 * converge on the newest config. HTTP failures throw (the job retries); a file that does not
 * parse is reported, and the registered schedules are kept.
 */
export async function loadRepoSchedules(octokit: Octokit, repo: RepoRef, rules: ScheduleRules, defaultBranch?: string): Promise<LoadedSchedules> {
  const params = { owner: repo.owner, repo: repo.name };
  const branch = defaultBranch ?? (await octokit.rest.repos.get(params)).data.default_branch;
  const version = (await octokit.rest.repos.getBranch({ ...params, branch })).data.commit.sha;
  let raw: Record<string, unknown>;
  let missing = false;
  try {
    const { config, files } = await octokit.config.get({ ...params, path: CONFIG_PATH, branch: version });
    raw = (config ?? {}) as Record<string, unknown>;
    missing = files.every((file) => file.config === null);
  } catch (error) {
    if (typeof (error as { status?: unknown }).status === "number") throw error;
    const message = (error as Error).message.replace(/^\[@probot\/octokit-plugin-config\] /, "");
    return { defaultBranch: branch, missing: false, version, label: "conveyor", schedules: [], unreadable: true, problems: [{ id: null, index: null, messages: [`${CONFIG_PATH} cannot be read: ${message}`] }] };
  }
  const label = RepoConfig.shape.label.safeParse(raw.label);
  const { schedules, problems } = validateSchedules(raw.schedules, rules);
  return { defaultBranch: branch, missing, version, label: label.success ? label.data : "conveyor", schedules, problems };
}
