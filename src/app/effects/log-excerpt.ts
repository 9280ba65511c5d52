// What a failing GitHub Actions job log says about the failure, as a short excerpt for the
// implementer: the failing step's error lines and the output just before them, with ANSI codes
// and timestamps stripped and secrets-looking values masked the way GitHub masks registered
// secrets (***). Pure text in, text out; downloading the log is ci-logs.ts's job.
import { isSecretName, TOKEN_FORMATS } from "../../reviews/security/secrets.js";
import { URL_PASSWORD } from "../../logger.js";

export interface ExcerptLimits {
  /** Lines of the excerpt, not counting the "… (n lines left out)" markers and blank separators. */
  lines: number;
  /** UTF-8 bytes of the excerpt, markers included. */
  bytes: number;
  /** A longer line (minified output, a JSON dump) is cut here. */
  lineChars: number;
}

export const EXCERPT_LIMITS: ExcerptLimits = { lines: 60, bytes: 6_000, lineChars: 300 };

export interface LogExcerpt {
  /** The step the lines come from ("npm test", "Set up job"). */
  step: string;
  /** "error": the step has lines the runner marks as errors; "keywords": none, so found by failure words and the step's end. */
  anchor: "error" | "keywords";
  /** The excerpt's lines; "… (n lines left out)" where it skips some. */
  lines: string[];
}

interface LogLine {
  text: string;
  /** A `##[error]` line: the runner's "Process completed with exit code 1." or an `::error::` annotation. */
  error: boolean;
}

interface Step {
  name: string;
  lines: LogLine[];
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?/;
// CSI sequences (colours, cursor moves), OSC sequences (hyperlinks, titles) and lone two-byte escapes.
// eslint-disable-next-line no-control-regex -- matching terminal escape codes is the point
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex -- what is left of other control characters is noise
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const RUNNER_COMMAND = /^##\[([a-z-]+)\](.*)$/;
/** Runner lines that start the job's own steps after the workflow's: not where a failure is told. */
const POST_STEPS = new Map([
  ["Post job cleanup.", "Post job cleanup"],
  ["Cleaning up orphan processes", "Complete job"],
]);

const FAILURE_WORDS: readonly RegExp[] = [
  /^\s*(?:FAIL|FAILED|FAILURE|ERROR)\b/, // vitest, jest, pytest, go
  /^\s*(?:--- FAIL|panic:|Traceback \(most recent call last\)|thread '.*' panicked)/,
  /\b\w*(?:Error|Exception):/, // AssertionError: …, TypeError: …, Error: …
  /^\s*\d+:\d+\s+error\b/, // eslint's stylish format
  /\berror(?:\[E\d+\]| TS\d+)?:/i, // rustc, tsc, gcc
  /^\s*[✖×✗❌]/, // eslint's summary, vitest's failed test
  /\b\d+ (?:failed|failing|errors?)\b/,
  /^npm (?:ERR!|error)/,
];

export function isFailureLine(text: string): boolean {
  return FAILURE_WORDS.some((pattern) => pattern.test(text));
}

/** One raw log line as a person reads it in the Actions UI: no timestamp, colours or control codes. */
export function cleanLine(raw: string): string {
  let text = raw.replace(TIMESTAMP, "").replace(ANSI, "");
  // A progress bar rewrites its line after \r: what stayed on screen is the last rewrite.
  const cr = text.lastIndexOf("\r");
  if (cr >= 0) text = text.slice(cr + 1);
  return text.replace(CONTROL, "").trimEnd();
}

const AUTH_VALUE = /\b(bearer|basic|token)(\s+)(?=[A-Za-z0-9._~+/=-]*\d)(?=[A-Za-z0-9._~+/=-]*[A-Za-z])[A-Za-z0-9._~+/=-]{16,}/gi;
const ASSIGNMENT = /\b([A-Za-z_][\w.-]*)(\s*[:=]\s*)(["']?)([^\s"']{8,})\3/g;

/**
 * GitHub already prints registered secrets as ***; this masks what it cannot know about: well-known
 * token formats, credentials in URLs, `Authorization: Bearer …` and secret-named assignments.
 */
export function maskSecrets(text: string): string {
  let out = text;
  for (const { pattern } of TOKEN_FORMATS) out = out.replace(pattern, "***");
  out = out.replace(URL_PASSWORD, "$1***@").replace(AUTH_VALUE, "$1$2***");
  return out.replace(ASSIGNMENT, (match, name: string, separator: string, quote: string, value: string) =>
    isSecretName(name) && !/^\*+$/.test(value) ? `${name}${separator}${quote}***${quote}` : match,
  );
}

/**
 * Splits a job log into steps. A step's header group (`##[group]Run npm test` up to
 * `##[endgroup]`: the script, the shell, the `with:` and `env:` values) is dropped; its name stays.
 */
export function parseSteps(log: string): Step[] {
  const steps: Step[] = [{ name: "Set up job", lines: [] }];
  let inHeader = false;
  for (const raw of log.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    const text = cleanLine(raw);
    const command = RUNNER_COMMAND.exec(text);
    const kind = command?.[1];
    const rest = command?.[2] ?? text;
    if (kind === "group" && rest.startsWith("Run ")) {
      steps.push({ name: rest.slice(4).trim(), lines: [] });
      inHeader = true;
      continue;
    }
    if (kind === "endgroup") {
      inHeader = false;
      continue;
    }
    if (inHeader) continue;
    const post = POST_STEPS.get(text);
    if (post) {
      steps.push({ name: post, lines: [] });
      continue;
    }
    if (kind === "debug" || kind === "add-matcher" || kind === "remove-matcher") continue;
    const label = kind === "error" ? "Error: " : kind === "warning" ? "Warning: " : kind === "notice" ? "Notice: " : "";
    steps.at(-1)!.lines.push({ text: maskSecrets(`${label}${rest}`), error: kind === "error" });
  }
  return steps;
}

const isPost = (step: Step) => step.name === "Post job cleanup" || step.name === "Complete job";
const hasText = (step: Step) => step.lines.some((line) => line.text.trim() !== "");

/** The step that failed: the first with an error line, else the last one that names a failure, else the last one. */
function failingStep(steps: Step[]): { step: Step; anchor: LogExcerpt["anchor"] } | null {
  const erred = steps.find((step) => !isPost(step) && step.lines.some((line) => line.error)) ?? steps.find((step) => step.lines.some((line) => line.error));
  if (erred) return { step: erred, anchor: "error" };
  const candidates = steps.filter((step) => !isPost(step) && hasText(step));
  const step = candidates.findLast((candidate) => candidate.lines.some((line) => isFailureLine(line.text))) ?? candidates.at(-1);
  return step ? { step, anchor: "keywords" } : null;
}

/** How many lines right before the error are kept first: test runners print their failures and summary there. */
const TAIL = 30;
/** Lines kept around a line that names a failure: the one before, the detail after. */
const BEFORE = 1;
const AFTER = 4;

/**
 * Picks the lines of the failing step that tell what failed, in priority order while the budget
 * lasts: the error lines, the last lines before the (last) error, then a window around each line
 * that names a failure. The budget is a cap, not a target: the rest of a long step is noise.
 */
function pickLines(lines: LogLine[], budget: number): number[] {
  const lastError = lines.findLastIndex((line) => line.error);
  const end = lastError >= 0 ? lastError + 1 : lines.length;
  const picked = new Set<number>();
  const take = (index: number) => {
    if (index >= 0 && index < end && picked.size < budget && lines[index]!.text.trim() !== "") picked.add(index);
  };
  for (let i = 0; i < end; i++) if (lines[i]!.error) take(i);
  for (let i = end - 1, kept = 0; i >= 0 && kept < TAIL; i--) {
    if (lines[i]!.error || lines[i]!.text.trim() === "") continue;
    take(i);
    kept++;
  }
  for (let i = 0; i < end && picked.size < budget; i++) {
    if (!isFailureLine(lines[i]!.text)) continue;
    for (let j = i - BEFORE; j <= i + AFTER; j++) take(j);
  }
  return [...picked].sort((a, b) => a - b);
}

function render(lines: LogLine[], picked: number[], lineChars: number): string[] {
  const out: string[] = [];
  let previous = -1;
  for (const index of picked) {
    const gap = lines.slice(previous + 1, index);
    const skipped = gap.filter((line) => line.text.trim() !== "").length;
    if (skipped > 0) out.push(`… (${skipped} ${skipped === 1 ? "line" : "lines"} left out)`);
    // A blank line between two kept ones separates what the tool printed apart.
    else if (gap.length > 0 && previous >= 0) out.push("");
    const text = lines[index]!.text;
    out.push(text.length > lineChars ? `${text.slice(0, lineChars)}…` : text);
    previous = index;
  }
  return out;
}

const bytesOf = (lines: string[]) => Buffer.byteLength(lines.join("\n"), "utf8");

/** The excerpt of a job log that tells why it failed, or null when the log has no text at all. */
export function excerptOfLog(log: string, limits: ExcerptLimits = EXCERPT_LIMITS): LogExcerpt | null {
  const found = failingStep(parseSteps(log));
  if (!found) return null;
  const { lines } = found.step;
  let picked = pickLines(lines, limits.lines);
  let rendered = render(lines, picked, limits.lineChars);
  // Over the byte cap: drop the earliest lines that are not errors (the end tells the most).
  while (bytesOf(rendered) > limits.bytes && picked.length > 1) {
    const drop = picked.findIndex((index) => !lines[index]!.error);
    picked = picked.filter((_, i) => i !== (drop >= 0 ? drop : 0));
    rendered = render(lines, picked, limits.lineChars);
  }
  if (rendered.length === 0) return null;
  return { step: found.step.name, anchor: found.anchor, lines: rendered };
}

/** A fenced block that no backtick run inside the lines can close early. */
export function fenced(lines: string[]): string {
  const longest = Math.max(2, ...lines.map((line) => Math.max(0, ...[...line.matchAll(/`+/g)].map((run) => run[0].length))));
  const fence = "`".repeat(longest + 1);
  return [`${fence}text`, ...lines, fence].join("\n");
}
