import type { z } from "zod";
import { RepoConfig, describeConfigIssue } from "../../pipeline/config.js";
import type { PipelineEvent } from "../../pipeline/events.js";
import type { GitHubContext, Octokit } from "./octokit.js";
import { repoParams } from "./octokit.js";

export const CONFIG_PATH = ".github/conveyor.yml";

/** One problem with a repository's config, as the app reports it on the issue. */
export interface ConfigProblem {
  /** `.github/conveyor.yml › review.blockOn: Invalid option: …` */
  line: string;
  /** The schema's complaint, with the field's path; absent when the file does not parse at all. */
  issue?: z.core.$ZodIssue;
}

export type RepoConfigReading =
  | { valid: true; config: RepoConfig; /** No file here nor in the owner's `.github` repository: all defaults. */ missing: boolean }
  | { valid: false; problems: ConfigProblem[] };

/**
 * Reads `.github/conveyor.yml` through Probot's config plugin (so `_extends` and the owner's
 * `.github` repository work) and validates it. A missing file means all defaults. HTTP failures
 * throw: they are the network's or GitHub's, and the caller retries or reports them.
 */
export async function readRepoConfig(octokit: Octokit, repo: { owner: string; repo: string }, ref?: string): Promise<RepoConfigReading> {
  let raw: unknown;
  let missing: boolean;
  try {
    const { config, files } = await octokit.config.get({ ...repo, path: CONFIG_PATH, ...(ref ? { branch: ref } : {}) });
    raw = config ?? {};
    missing = files.every((file) => file.config === null);
  } catch (error) {
    if (typeof (error as { status?: unknown }).status === "number") throw error;
    return { valid: false, problems: [{ line: `${CONFIG_PATH}: ${(error as Error).message.replace(/^\[@probot\/octokit-plugin-config\] /, "")}` }] };
  }
  const parsed = RepoConfig.safeParse(raw);
  if (parsed.success) return { valid: true, config: parsed.data, missing };
  return { valid: false, problems: parsed.error.issues.map((issue) => ({ line: `${CONFIG_PATH} › ${describeConfigIssue(issue)}`, issue })) };
}

/** The load-config effect: the run's intake reads the config once and keeps a snapshot. */
export async function loadConfig(context: GitHubContext): Promise<PipelineEvent> {
  const at = context.now();
  const reading = await readRepoConfig(context.octokit, repoParams(context.run));
  if (!reading.valid) return { type: "config.invalid", at, errors: reading.problems.map((problem) => problem.line) };
  return { type: "config.loaded", at, config: reading.config };
}
