import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import type { Octokit } from "../app/effects/octokit.js";
import type { Settings } from "../env.js";
import { describeGitHubFailure, type Check } from "./doctor-check.js";
import { checkRepository } from "./doctor-repo.js";

/** Repositories checked at once: a few requests each, kept well below GitHub's secondary rate limits. */
const REPO_CONCURRENCY = 4;

interface Installation {
  id: number;
  account: { login?: string } | null;
}

/**
 * The app on GitHub (its JWT), its installations, and through each installation's token every
 * repository it may access: the repository's config and implementer workflow.
 */
export async function checkGitHub(settings: Settings): Promise<Check[]> {
  // One try per request: the doctor reports a failure at once instead of retrying for minutes.
  const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } }));
  const probot = new Probot({ appId: settings.APP_ID, privateKey: settings.privateKey!, baseUrl: settings.baseUrl, log: pino({ level: "silent" }), Octokit });
  const checks: Check[] = [];
  let appOctokit: Octokit;
  let slug: string;
  try {
    appOctokit = await probot.auth();
    const { data: app } = await appOctokit.request("GET /app");
    slug = app?.slug ?? "<slug>";
    checks.push({ name: "github app", ok: true, detail: `${app?.name ?? "?"} (${app?.slug ?? "?"}) on ${settings.baseUrl}` });
  } catch (error) {
    const status = (error as { status?: number }).status;
    return [{ name: "github app", ok: false, detail: status === 404 ? `GET /app failed (404): no such app; check APP_ID and GHE_HOST` : describeGitHubFailure("GET /app", error) }];
  }
  let installations: Installation[];
  try {
    installations = (await appOctokit.paginate("GET /app/installations", { per_page: 100 })) as Installation[];
  } catch (error) {
    return [...checks, { name: "installations", ok: false, detail: `${describeGitHubFailure("listing the app's installations (GET /app/installations)", error)}; the repositories were not checked` }];
  }
  if (!installations.length) {
    return [...checks, { name: "installations", ok: false, detail: `the app is not installed anywhere: install it on a repository from its page (https://github.com/apps/${slug})` }];
  }
  checks.push({ name: "installations", ok: true, detail: installations.map(describeInstallation).join(", ") });
  for (const installation of installations) checks.push(...(await checkInstallation(probot, installation)));
  return checks;
}

const describeInstallation = (installation: Installation) => `${installation.account?.login ?? "?"} (${installation.id})`;

async function checkInstallation(probot: Probot, installation: Installation): Promise<Check[]> {
  const name = `installation ${describeInstallation(installation)}`;
  let octokit: Octokit;
  let repos: { owner: { login: string }; name: string }[];
  try {
    octokit = await probot.auth(installation.id);
    repos = await octokit.paginate("GET /installation/repositories", { per_page: 100 });
  } catch (error) {
    return [{ name, ok: false, detail: `${describeGitHubFailure("listing its repositories (GET /installation/repositories)", error)}; its repositories were not checked` }];
  }
  if (!repos.length) return [{ name, ok: true, warning: true, detail: "no repositories: select some in the installation's settings (Repository access)" }];
  const checks: Check[] = [{ name, ok: true, detail: `${repos.length} ${repos.length === 1 ? "repository" : "repositories"}` }];
  for (let start = 0; start < repos.length; start += REPO_CONCURRENCY) {
    const batch = repos.slice(start, start + REPO_CONCURRENCY);
    for (const result of await Promise.all(batch.map((repo) => checkRepository(octokit, { owner: repo.owner.login, name: repo.name })))) checks.push(...result);
  }
  return checks;
}
