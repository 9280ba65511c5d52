// security/workflow-script-injection and security/pull-request-target-checkout: GitHub Actions
// workflows (and composite actions) that let pull request or issue authors run code with the
// repository's token and secrets.
import type { Analyzer } from "../analyzer.js";
import type { DiffLine } from "../diff.js";
import { FindingSet } from "../finding.js";
import { NewFile, indentOf, isCommentLine, reviewableFiles } from "./support.js";

export const isWorkflowPath = (path: string) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(path);
const isActionPath = (path: string) => /(^|\/)action\.ya?ml$/.test(path);

/**
 * Contexts whose value an outside contributor chooses (GitHub Security Lab's list): titles,
 * bodies, commit messages and authors, branch names, page names.
 */
const UNTRUSTED_CONTEXT = new RegExp(
  [
    String.raw`\bgithub\.head_ref\b`,
    String.raw`\bgithub\.event\.(?:issue|pull_request|discussion)\.(?:title|body)\b`,
    String.raw`\bgithub\.event\.(?:comment|review|review_comment|discussion_comment)\.body\b`,
    String.raw`\bgithub\.event\.pull_request\.head\.(?:ref|label|repo\.default_branch)\b`,
    String.raw`\bgithub\.event\.(?:head_commit|workflow_run\.head_commit)\.(?:message|author\.(?:email|name))\b`,
    String.raw`\bgithub\.event\.commits(?:\[[^\]]*\]|\.\*)\.(?:message|author\.(?:email|name))\b`,
    String.raw`\bgithub\.event\.pages(?:\[[^\]]*\]|\.\*)\.page_name\b`,
    String.raw`\bgithub\.event\.workflow_run\.(?:head_branch|display_title)\b`,
  ].join("|"),
);

/** `${{ … }}` expressions on a line that read an untrusted context. */
export function untrustedExpressions(text: string): string[] {
  return [...text.matchAll(/\$\{\{(.*?)\}\}/g)].map((match) => match[1]!).filter((expression) => UNTRUSTED_CONTEXT.test(expression));
}

const SCRIPT_KEY = /^(\s*)(-\s+)?(run|script)\s*:(?=\s|$)/;

/**
 * New-file line numbers inside `run:` and `script:` values (the key's line and every following
 * line indented deeper, or blank). Only consecutive lines are followed, so with partial content
 * (added lines only) a block ends at the first gap.
 */
export function scriptLines(lines: readonly DiffLine[]): Set<number> {
  const inside = new Set<number>();
  for (let index = 0; index < lines.length; index++) {
    const match = SCRIPT_KEY.exec(lines[index]!.text);
    if (!match) continue;
    const keyColumn = match[1]!.length + (match[2]?.length ?? 0);
    inside.add(lines[index]!.line);
    for (let next = index + 1; next < lines.length; next++) {
      const { line, text } = lines[next]!;
      if (line !== lines[next - 1]!.line + 1) break;
      if (text.trim() !== "" && indentOf(text) <= keyColumn) break;
      inside.add(line);
    }
  }
  return inside;
}

/** Looks like a YAML mapping entry (`key: value`, `- key: value`): where `${{ }}` is not a script. */
const YAML_ENTRY = /^\s*(?:-\s+)?["']?[\w.-]+["']?\s*:(?:\s|$)/;

export const workflowScriptInjection: Analyzer = {
  angle: "security",
  rule: "security/workflow-script-injection",
  description:
    "GitHub Actions workflows and composite actions that expand untrusted `${{ github.event.… }}` values (issue and pull request titles and bodies, comments, commit messages, branch names) inside a `run:` or github-script `script:` (blocker).",
  run({ diff, files }) {
    const found = new FindingSet("security/workflow-script-injection");
    for (const file of reviewableFiles(diff)) {
      if (!isWorkflowPath(file.path) && !isActionPath(file.path)) continue;
      const source = NewFile.of(file, files);
      const scripts = scriptLines(source.allLines());
      for (const { line, text } of source.added()) {
        if (untrustedExpressions(text).length === 0) continue;
        // Without the whole file, an added line whose run: key is not in the diff counts as script
        // text unless it reads as a YAML entry (e.g. `env:` entries, the safe pattern) or a comment.
        const inScript = scripts.has(line) || (!source.complete && !YAML_ENTRY.test(text) && !isCommentLine(text, "yaml"));
        if (!inScript) continue;
        found.add(file.path, line, {
          severity: "blocker",
          title: "Untrusted input expanded into a workflow script",
          rationale:
            "`${{ }}` expressions are substituted into the script text before it runs, so a pull request or issue author who puts quotes, `$(…)` or a newline in a title, body, comment or branch name runs their own commands with this workflow's token and secrets (script injection).",
          suggestion:
            "Pass the value through an environment variable and quote it in the script: `env: TITLE: ${{ github.event.issue.title }}` then `echo \"$TITLE\"` (for github-script, read `context.payload` instead).",
        });
      }
    }
    return found.findings;
  },
};

/** Checking out or fetching the pull request's head (or merge) commit. */
const HEAD_REFERENCE =
  /\$\{\{\s*(?:github\.event\.pull_request\.head\.(?:sha|ref)|github\.head_ref)\s*\}\}|refs\/pull\/\$\{\{\s*github\.event\.(?:number|pull_request\.number)\s*\}\}\/(?:head|merge)/;
const CHECKOUT_LINE = /^\s*(?:-\s+)?ref\s*:|\bgit\s+(?:checkout|fetch|switch|pull)\b|\bgh\s+pr\s+checkout\b/;
const PULL_REQUEST_TARGET = /\bpull_request_target\b/;

const isHeadCheckout = (text: string) => CHECKOUT_LINE.test(text) && HEAD_REFERENCE.test(text);

export const pullRequestTargetCheckout: Analyzer = {
  angle: "security",
  rule: "security/pull-request-target-checkout",
  description:
    "`pull_request_target` workflows that check out the pull request's head (`ref: ${{ github.event.pull_request.head.sha }}`, `head.ref`, `github.head_ref`, `refs/pull/N/merge`): untrusted code with a write token and secrets (blocker).",
  run({ diff, files }) {
    const found = new FindingSet("security/pull-request-target-checkout");
    for (const file of reviewableFiles(diff)) {
      if (!isWorkflowPath(file.path)) continue;
      const source = NewFile.of(file, files);
      const known = source.allLines().filter((line) => !isCommentLine(line.text, "yaml"));
      if (!known.some((line) => PULL_REQUEST_TARGET.test(line.text))) continue;
      const added = source.added().filter((line) => !isCommentLine(line.text, "yaml"));
      const text = {
        severity: "blocker",
        title: "pull_request_target workflow checks out the pull request's code",
        rationale:
          "`pull_request_target` runs in the base repository's context, with a write-scoped token and access to secrets, even for pull requests from forks. Checking out the head commit and then building, installing or testing it runs code that anyone can submit with those privileges.",
        suggestion:
          "Use the `pull_request` event for anything that runs the contributor's code; keep `pull_request_target` for jobs that only read metadata or label, or split into an unprivileged `pull_request` workflow and a privileged `workflow_run` one that never executes the checked-out code.",
      } as const;
      const checkouts = added.filter((line) => isHeadCheckout(line.text));
      for (const { line } of checkouts) found.add(file.path, line, text);
      // The trigger itself was added to a workflow that already checks out the head.
      if (checkouts.length === 0 && known.some((line) => isHeadCheckout(line.text))) {
        const trigger = added.find((line) => PULL_REQUEST_TARGET.test(line.text));
        if (trigger) found.add(file.path, trigger.line, text);
      }
    }
    return found.findings;
  },
};
