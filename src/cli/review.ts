import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { Angle, RepoConfig, describeConfigErrors } from "../pipeline/config.js";
import { ANGLE_DEFINITIONS, relatedFiles } from "../reviews/angles.js";
import { atLeast, type Finding } from "../reviews/finding.js";
import { runAngleReview } from "../reviews/graph.js";
import { ModelOutputError, modelProviderFromSetting, type ModelProvider } from "../reviews/model.js";
import { summariseRound, type AngleResult } from "../reviews/round.js";
import { localReviewSource } from "../reviews/sources/local.js";

export const REVIEW_USAGE = `Usage: conveyor review <diff file | git range> [--repo DIR] [--angles a,b] [--json]

  Runs Conveyor's four reviews (architecture, security, quality, techstack) on a local change,
  with no GitHub: the analyzers always, and the model when CONVEYOR_MODEL names one.
  Reads .github/conveyor.yml from the repository when it has one.

  --repo DIR     the repository (default: the current directory)
  --angles LIST  comma-separated angles to run (default: all four)
  --json         one JSON object per finding per line

Exit codes: 0 no blocking finding, 1 blocking findings (at or above review.blockOn), 2 usage or input error.`;

const ICON = { blocker: "⛔", major: "🔴", minor: "🟡", nit: "⚪" } as const;

export interface ReviewCommandIO {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Tests inject LangChain's fake models. */
  models?: ModelProvider;
}

function readConfig(repoDir: string): RepoConfig {
  const path = join(repoDir, ".github", "conveyor.yml");
  if (!existsSync(path)) return RepoConfig.parse({});
  const parsed = RepoConfig.safeParse(parseYaml(readFileSync(path, "utf8")) ?? {});
  if (!parsed.success) throw new Error(`${path} is invalid:\n${describeConfigErrors(parsed.error).map((line) => `  ${line}`).join("\n")}`);
  return parsed.data;
}

export async function reviewCommand(argv: string[], io: ReviewCommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { repo: { type: "string", default: "." }, angles: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } } });
  } catch (error) {
    io.err(`conveyor review: ${(error as Error).message}\n\n${REVIEW_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(REVIEW_USAGE);
    return 0;
  }
  const [target] = parsed.positionals;
  if (!target || parsed.positionals.length > 1) {
    io.err(`conveyor review: give exactly one diff file or git range\n\n${REVIEW_USAGE}`);
    return 2;
  }
  const repoDir = resolve(parsed.values.repo);
  const angles = parsed.values.angles ? parsed.values.angles.split(",").map((angle) => angle.trim()) : [...Angle.options];
  const unknown = angles.filter((angle) => !Angle.safeParse(angle).success);
  if (unknown.length) {
    io.err(`conveyor review: unknown angle ${unknown.join(", ")}; choose from ${Angle.options.join(", ")}`);
    return 2;
  }
  let config: RepoConfig;
  try {
    config = readConfig(repoDir);
  } catch (error) {
    io.err(`conveyor review: ${(error as Error).message}`);
    return 2;
  }
  const models = io.models ?? modelProviderFromSetting(io.env.CONVEYOR_MODEL);
  const source = localReviewSource({ diffOrRange: target, repoDir, related: relatedFiles });
  let results: AngleResult[];
  try {
    // The diff is read once and shared by the four graphs.
    const context = await source.load();
    const shared = { load: async () => context };
    results = await Promise.all(
      (angles as Angle[]).map(async (angle): Promise<AngleResult> => {
        try {
          const review = await runAngleReview(ANGLE_DEFINITIONS[angle], { source: shared, model: await models(angle, config) }, { config, earlier: [] });
          return { ...review, status: "ok" };
        } catch (error) {
          if (error instanceof ModelOutputError) return { angle, status: "failed", error: error.message, tokens: error.tokens };
          return { angle, status: "failed", error: (error as Error).message, tokens: 0 };
        }
      }),
    );
  } catch (error) {
    io.err(`conveyor review: cannot read ${target}: ${(error as Error).message}`);
    return 2;
  }
  const summary = summariseRound({ results, earlier: [], config });
  const findings = [...summary.open].sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line);
  if (parsed.values.json) {
    for (const finding of findings) io.out(JSON.stringify(jsonOf(finding)));
    for (const failed of summary.outcomes.filter((outcome) => outcome.status === "failed")) io.err(`conveyor review: the ${failed.angle} review failed: ${failed.error}`);
  } else {
    printHuman(io, findings, summary.notes, summary.outcomes.filter((outcome) => outcome.status === "failed").map((outcome) => `${outcome.angle}: ${outcome.error}`));
  }
  return findings.some((finding) => atLeast(finding.severity, config.review.blockOn) && !config.review.advisory.includes(finding.angle)) ? 1 : 0;
}

function jsonOf(finding: Finding) {
  return { angle: finding.angle, rule: finding.rule, path: finding.path, line: finding.line, severity: finding.severity, title: finding.title, rationale: finding.rationale, suggestion: finding.suggestion, id: finding.id, alsoFrom: finding.alsoFrom };
}

function printHuman(io: ReviewCommandIO, findings: Finding[], notes: string[], failures: string[]) {
  for (const finding of findings) {
    const also = finding.alsoFrom.length ? `, also ${finding.alsoFrom.join(", ")}` : "";
    io.out(`${ICON[finding.severity]} ${finding.severity.padEnd(7)} ${finding.path}:${finding.line}  ${finding.title}  [${finding.angle}${also} · ${finding.rule}]`);
    if (finding.suggestion) io.out(`           → ${finding.suggestion}`);
  }
  const counts = (["blocker", "major", "minor", "nit"] as const).map((severity) => `${findings.filter((finding) => finding.severity === severity).length} ${severity}`).join(", ");
  io.out(`\n${findings.length} finding(s): ${counts}`);
  for (const note of notes) io.out(`note: ${note}`);
  for (const failure of failures) io.err(`failed: ${failure}`);
}
