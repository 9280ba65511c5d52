import { z } from "zod";
import { Schedules } from "../schedules/schema.js";
import { CleanupConfig } from "../schedules/cleanup.js";

/** Review angles: one LangGraph review graph each. */
export const Angle = z.enum(["architecture", "security", "quality", "techstack"]);
export type Angle = z.infer<typeof Angle>;
export const ANGLES = Angle.options;

export const Severity = z.enum(["nit", "minor", "major", "blocker"]);
export type Severity = z.infer<typeof Severity>;

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "30m", "6h" or "7d"')
  .describe("A duration: a number followed by ms, s, m, h or d");

/** `provider:model` as LangChain's initChatModel takes it (`openai:gpt-4o-mini`), or `none`. */
export const modelName = z
  .string()
  .regex(/^(none|[a-z][\w-]*:[\w./:-]+)$/, 'a model such as "openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5", "ollama:llama3.1", or "none"');

/**
 * `.github/conveyor.yml`: what a repository asks of Conveyor. Every field has a default, so an
 * empty or missing file is a valid configuration. Unknown keys are refused so typos surface.
 */
export const RepoConfig = z
  .object({
    /** The issue label that starts a run. */
    label: z.string().min(1).max(50).default("conveyor"),
    /** Prefix of slash commands in comments. */
    commandPrefix: z.string().regex(/^\/[a-z-]+$/, 'a slash word such as "/conveyor"').default("/conveyor"),
    implement: z
      .object({
        /** Workflow file (in .github/workflows/) that runs the coding agent. */
        workflow: z.string().regex(/^[\w.-]+\.ya?ml$/, "a workflow file name such as conveyor-implement.yml").default("conveyor-implement.yml"),
        /** Git ref the implementer workflow is dispatched on; default: the repository's default branch. */
        ref: z.string().min(1).optional(),
        /** How long one implement round may take. */
        timeout: duration.default("2h"),
      })
      .strict()
      .prefault({}),
    review: z
      .object({
        angles: z.array(Angle).min(1).default([...ANGLES]),
        /** Findings at or above this severity block and start a fix round. */
        blockOn: Severity.default("blocker"),
        /** Angles whose findings never block. */
        advisory: z.array(Angle).default([]),
        /** What a review angle that failed for good means for the gate. */
        onAngleFailure: z.enum(["block", "ignore"]).default("ignore"),
        timeout: duration.default("30m"),
        /** Per-angle model override (`provider:model`, or `none` for analyzers only); default: CONVEYOR_MODEL. */
        models: z.partialRecord(Angle, modelName).default({}),
        /** Architecture layer rules: files matching `from` may not import files matching `mayNotImport`. */
        layers: z
          .array(
            z
              .object({
                from: z.string().min(1).describe("glob of importing files, e.g. src/pipeline/**"),
                mayNotImport: z.array(z.string().min(1)).min(1).describe("globs of files they may not import"),
                because: z.string().optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    ci: z
      .object({
        /** Check names that must pass; empty means every check that reports. */
        required: z.array(z.string().min(1)).default([]),
        timeout: duration.default("2h"),
      })
      .strict()
      .prefault({}),
    approval: z
      .object({
        required: z.number().int().min(0).max(10).default(1),
        /** Who may approve, besides having write access: listed users, members of listed teams (`org/team`), the code owners of the changed paths. Empty: anyone with write access. */
        from: z
          .object({
            users: z.array(z.string().min(1)).default([]),
            teams: z.array(z.string().regex(/^[\w.-]+\/[\w.-]+$/, "org/team-slug")).default([]),
            codeowners: z.boolean().default(false),
          })
          .strict()
          .prefault({}),
        /** The person who started the run may not approve it. */
        separationOfDuties: z.boolean().default(false),
        /** Label added to the issue when the approval wait expires. */
        expiredLabel: z.string().min(1).max(50).default("conveyor:expired"),
        remindEvery: duration.default("1d"),
        expireAfter: duration.default("7d"),
      })
      .strict()
      .prefault({}),
    merge: z
      .object({
        method: z.enum(["merge", "squash", "rebase", "manual"]).default("squash"),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** Fix rounds after the first implementation before the run parks as needs-human. */
        maxFixRounds: z.number().int().min(0).max(20).default(3),
        /** LLM tokens one run may spend. */
        tokenBudget: z.number().int().min(0).default(200_000),
      })
      .strict()
      .prefault({}),
    /** Recurring work (src/schedules/schema.ts): each firing opens an issue or labels matching issues. */
    schedules: Schedules.default([]),
    /** Clean-up of cancelled and expired runs (src/schedules/cleanup.ts); off unless enabled. */
    cleanup: CleanupConfig.prefault({}),
  })
  .strict();
export type RepoConfig = z.infer<typeof RepoConfig>;

export const DEFAULT_CONFIG: RepoConfig = RepoConfig.parse({});

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds in a duration string that the schema already validated. */
export function durationMs(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new Error(`config: "${value}" is not a duration such as "30m"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** One line per problem, naming the field: `review.blockOn: Invalid option: expected one of …`. */
export function describeConfigErrors(error: z.ZodError): string[] {
  return error.issues.map(describeConfigIssue);
}

/** One validation issue as a line: the field's path, then what is wrong with it. */
export function describeConfigIssue(issue: z.core.$ZodIssue): string {
  return `${issue.path.length ? issue.path.join(".") : "(top level)"}: ${issue.message}`;
}
