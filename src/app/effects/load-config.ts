import { RepoConfig, describeConfigErrors } from "../../pipeline/config.js";
import type { PipelineEvent } from "../../pipeline/events.js";
import type { GitHubContext } from "./octokit.js";
import { repoParams } from "./octokit.js";

export const CONFIG_PATH = ".github/conveyor.yml";

/**
 * Reads `.github/conveyor.yml` through Probot's config plugin (so `_extends` and the owner's
 * `.github` repository work) and validates it. A missing file means all defaults.
 */
export async function loadConfig(context: GitHubContext): Promise<PipelineEvent> {
  const at = context.now();
  let raw: unknown;
  try {
    const { config } = await context.octokit.config.get({ ...repoParams(context.run), path: CONFIG_PATH });
    raw = config ?? {};
  } catch (error) {
    // HTTP failures are the network's or GitHub's: let the worker retry them.
    if (typeof (error as { status?: unknown }).status === "number") throw error;
    return { type: "config.invalid", at, errors: [`${CONFIG_PATH}: ${(error as Error).message.replace(/^\[@probot\/octokit-plugin-config\] /, "")}`] };
  }
  const parsed = RepoConfig.safeParse(raw);
  if (!parsed.success) return { type: "config.invalid", at, errors: describeConfigErrors(parsed.error).map((line) => `${CONFIG_PATH} › ${line}`) };
  return { type: "config.loaded", at, config: parsed.data };
}
