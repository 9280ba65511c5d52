// A review round's verdict (summariseRound, mergeAcrossAngles): duplicates across angles merged
// into one finding with alsoFrom and the highest severity; fresh, open and resolved findings
// against the earlier rounds'; incremental reviews that keep findings on untouched files; failed
// and skipped angles that prove nothing; per-angle outcomes counted by blockOn; advisory angles
// kept out of the fix round's feedback. Pure: no Redis, no model.
import { describe, expect, it } from "vitest";
import { RepoConfig, type Angle, type Severity } from "../../../src/pipeline/config.js";
import { countBlocking } from "../../../src/pipeline/stages.js";
import { findingId, type Finding } from "../../../src/reviews/finding.js";
import { mergeAcrossAngles, summariseRound, type AngleResult } from "../../../src/reviews/round.js";

const cfg = (review: Record<string, unknown> = {}) => RepoConfig.parse({ review });
const DEFAULTS = cfg(); // blockOn: blocker, no advisory angle

const SHELL = "  execSync(`run-hook ${hook} ${customer.id}`);";
const EVAL = "  return eval(rule.replace(\"x\", String(amount)));";
const LOG = '  console.log("charging", customer.id, cents);';

/** A finding as a graph returns it: its id made of angle, rule, path and line text. */
function finding(angle: Angle, over: { rule?: string; path?: string; line?: number; severity?: Severity; title?: string; snippet?: string; source?: Finding["source"] } = {}): Finding {
  const rule = over.rule ?? `${angle}/model`;
  const path = over.path ?? "src/billing/charge.ts";
  const snippet = over.snippet ?? SHELL;
  return {
    id: findingId(angle, rule, path, snippet),
    angle,
    rule,
    source: over.source ?? (rule.endsWith("/model") ? "model" : "analyzer"),
    path,
    line: over.line ?? 9,
    severity: over.severity ?? "major",
    title: over.title ?? "Shell command built from interpolated values",
    rationale: "hook is interpolated into a shell command",
    suggestion: "",
    alsoFrom: [],
    snippet: snippet.trim(),
  };
}

function ok(angle: Angle, findings: Finding[], over: Partial<{ notes: string[]; tokens: number; mode: "full" | "incremental"; reviewedPaths: string[] }> = {}): AngleResult {
  return { angle, status: "ok", findings, notes: over.notes ?? [], tokens: over.tokens ?? 0, mode: over.mode ?? "full", reviewedPaths: over.reviewedPaths ?? [] };
}
const failed = (angle: Angle, error: string, tokens = 0): AngleResult => ({ angle, status: "failed", error, tokens });
const ids = (findings: readonly Finding[]) => findings.map((entry) => entry.id).sort();

describe("mergeAcrossAngles", () => {
  it("merges the same problem from two angles (same path and line text, similar title) into the most severe report", () => {
    const quality = finding("quality", { severity: "minor", title: "Shell command built from interpolated input", snippet: `\t${SHELL}  ` });
    const security = finding("security", { rule: "security/shell-injection", severity: "major" });
    const merged = mergeAcrossAngles([quality, security]);
    expect(merged).toEqual([{ ...security, alsoFrom: ["quality"] }]);
    // The inputs are left alone.
    expect(quality.alsoFrom).toEqual([]);
    expect(security.alsoFrom).toEqual([]);
  });

  it("merges reports with the same rule whatever their titles, and lists every other angle once", () => {
    const merged = mergeAcrossAngles([
      finding("architecture", { rule: "llm", severity: "minor", title: "Layering" }),
      finding("security", { rule: "llm", severity: "blocker", title: "Injection" }),
      finding("quality", { rule: "llm", severity: "nit", title: "Naming" }),
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ angle: "security", severity: "blocker", title: "Injection" });
    expect(merged[0]!.alsoFrom.sort()).toEqual(["architecture", "quality"]);
  });

  it("keeps different problems apart: another line, another file, an unrelated title, or the same angle", () => {
    const base = finding("security", { rule: "security/shell-injection" });
    const kept = [
      base,
      finding("quality", { snippet: EVAL, line: 14 }), // same title, other line text
      finding("quality", { path: "src/billing/refund.ts" }), // same title, other file
      finding("quality", { title: "Debug leftover in the billing hook" }), // same line, unrelated title
      finding("security", { title: "Shell command built from interpolated values" }), // same angle: the graph's business
    ];
    expect(mergeAcrossAngles(kept)).toHaveLength(kept.length);
  });
});

describe("summariseRound", () => {
  it("merges duplicates across angles in the open findings, keeping the highest severity", () => {
    const summary = summariseRound({
      results: [
        ok("quality", [finding("quality", { severity: "minor", title: "Shell command built from interpolated input" })]),
        ok("security", [finding("security", { rule: "security/shell-injection", severity: "blocker" })]),
      ],
      earlier: [],
      config: DEFAULTS,
    });
    expect(summary.open).toHaveLength(1);
    expect(summary.open[0]).toMatchObject({ angle: "security", severity: "blocker", alsoFrom: ["quality"] });
    expect(summary.fresh).toEqual(summary.open);
  });

  it("splits findings into fresh (new), open (all current) and resolved (earlier, gone)", () => {
    const stillThere = finding("security", { rule: "security/shell-injection" });
    const fixed = finding("quality", { rule: "quality/debug-leftovers", snippet: LOG, line: 7, severity: "minor", title: "Debug leftover: `console.log` call" });
    const brandNew = finding("security", { rule: "security/dynamic-code-eval", snippet: EVAL, line: 14, title: "Dynamic code execution with `eval`" });
    // This round the still-open finding moved down two lines: same id, new line.
    const summary = summariseRound({
      results: [ok("security", [{ ...stillThere, line: 11 }, brandNew]), ok("quality", [])],
      earlier: [stillThere, fixed],
      config: DEFAULTS,
    });
    expect(ids(summary.open)).toEqual(ids([stillThere, brandNew]));
    expect(summary.open.find((entry) => entry.id === stillThere.id)!.line).toBe(11);
    expect(summary.fresh).toEqual([brandNew]);
    expect(summary.resolved).toEqual([fixed]);
  });

  it("in an incremental review, keeps earlier findings on paths the new commits did not touch and resolves the rest", () => {
    const untouched = finding("security", { path: "src/billing/refund.ts", snippet: 'const refundPassword = "x";', line: 3 });
    const touchedFixed = finding("security", { rule: "security/shell-injection" });
    const touchedStill = finding("security", { rule: "security/dynamic-code-eval", snippet: EVAL, line: 14 });
    const summary = summariseRound({
      results: [ok("security", [touchedStill], { mode: "incremental", reviewedPaths: ["src/billing/charge.ts"] })],
      earlier: [untouched, touchedFixed, touchedStill],
      config: DEFAULTS,
    });
    expect(ids(summary.open)).toEqual(ids([untouched, touchedStill]));
    expect(summary.resolved).toEqual([touchedFixed]);
    expect(summary.fresh).toEqual([]);
  });

  it("resolves what a full review no longer finds, whatever the path", () => {
    const elsewhere = finding("security", { path: "src/billing/refund.ts", snippet: 'const refundPassword = "x";', line: 3 });
    const summary = summariseRound({ results: [ok("security", [])], earlier: [elsewhere], config: DEFAULTS });
    expect(summary.open).toEqual([]);
    expect(summary.resolved).toEqual([elsewhere]);
  });

  it("keeps a failed angle's earlier findings open and reports the angle as failed", () => {
    const earlierSecurity = finding("security", { rule: "security/shell-injection", severity: "blocker" });
    const summary = summariseRound({
      results: [failed("security", "the model's findings did not match the schema twice: findings.0.line", 812), ok("quality", [], { tokens: 300 })],
      earlier: [earlierSecurity],
      config: DEFAULTS,
    });
    expect(summary.open).toEqual([earlierSecurity]);
    expect(summary.resolved).toEqual([]);
    expect(summary.fresh).toEqual([]);
    expect(summary.outcomes).toEqual([
      // The carried blocker still counts for the gate while the angle that found it is failing.
      { angle: "security", status: "failed", blocking: 1, total: 1, error: "the model's findings did not match the schema twice: findings.0.line" },
      { angle: "quality", status: "ok", blocking: 0, total: 0 },
    ]);
    expect(summary.notes).toEqual(["security review failed: the model's findings did not match the schema twice: findings.0.line"]);
    // Tokens spent on the failed angle still count.
    expect(summary.tokens).toBe(1112);
  });

  it("keeps the earlier findings of angles that did not run this round, with an outcome that still counts them", () => {
    const earlierQuality = finding("quality", { rule: "quality/debug-leftovers", snippet: LOG, line: 7, severity: "minor" });
    const summary = summariseRound({ results: [ok("security", [])], earlier: [earlierQuality], config: DEFAULTS });
    expect(summary.open).toEqual([earlierQuality]);
    expect(summary.resolved).toEqual([]);
    expect(summary.outcomes).toEqual([
      { angle: "security", status: "ok", blocking: 0, total: 0 },
      { angle: "quality", status: "ok", blocking: 0, total: 1 },
    ]);
  });

  it("counts each angle's blocking findings by blockOn", () => {
    const findings = [
      finding("security", { rule: "security/a", severity: "blocker", snippet: "a" }),
      finding("security", { rule: "security/b", severity: "major", snippet: "b" }),
      finding("security", { rule: "security/c", severity: "minor", snippet: "c" }),
      finding("quality", { rule: "quality/d", severity: "nit", snippet: "d" }),
    ];
    const outcome = (blockOn: Severity) => summariseRound({ results: [ok("security", findings.slice(0, 3)), ok("quality", findings.slice(3))], earlier: [], config: cfg({ blockOn }) }).outcomes;
    expect(outcome("blocker")).toEqual([
      { angle: "security", status: "ok", blocking: 1, total: 3 },
      { angle: "quality", status: "ok", blocking: 0, total: 1 },
    ]);
    expect(outcome("major").map((entry) => entry.blocking)).toEqual([2, 0]);
    expect(outcome("minor").map((entry) => entry.blocking)).toEqual([3, 0]);
    expect(outcome("nit").map((entry) => entry.blocking)).toEqual([3, 1]);
  });

  it("writes one feedback line per blocking finding: path:line [severity] title — suggestion, else rationale", () => {
    const withSuggestion = { ...finding("security", { rule: "security/shell-injection", severity: "blocker" }), suggestion: "Use execFile with an argument array." };
    const without = finding("security", { rule: "security/dynamic-code-eval", snippet: EVAL, line: 14, severity: "blocker", title: "Dynamic code execution with `eval`" });
    const summary = summariseRound({ results: [ok("security", [withSuggestion, without, finding("security", { rule: "security/x", snippet: LOG, severity: "major" })])], earlier: [], config: DEFAULTS });
    expect(summary.blocking).toEqual([
      "src/billing/charge.ts:9 [blocker] Shell command built from interpolated values — Use execFile with an argument array.",
      "src/billing/charge.ts:14 [blocker] Dynamic code execution with `eval` — hook is interpolated into a shell command",
    ]);
  });

  it("keeps advisory angles' findings out of the blocking lines (and the gate's count), while their outcome still shows them", () => {
    const config = cfg({ blockOn: "major", advisory: ["techstack"] });
    const summary = summariseRound({
      results: [
        ok("techstack", [finding("techstack", { rule: "techstack/major-bump", path: "package.json", snippet: '"zod": "^4.0.0",', line: 12, title: "Major version bump of zod" })]),
        ok("security", [finding("security", { rule: "security/shell-injection", severity: "major" })]),
      ],
      earlier: [],
      config,
    });
    expect(summary.blocking).toEqual(["src/billing/charge.ts:9 [major] Shell command built from interpolated values — hook is interpolated into a shell command"]);
    expect(summary.outcomes).toEqual([
      { angle: "techstack", status: "ok", blocking: 1, total: 1 },
      { angle: "security", status: "ok", blocking: 1, total: 1 },
    ]);
    expect(countBlocking(config, summary.outcomes)).toBe(1);
  });

  it("prefixes the angles' notes with the angle and sums every angle's tokens", () => {
    const summary = summariseRound({
      results: [ok("security", [], { notes: ["binary files skipped: assets/logo.png"], tokens: 1200 }), ok("quality", [], { notes: ["deleted files skipped: a.ts"], tokens: 800 })],
      earlier: [],
      config: DEFAULTS,
    });
    expect(summary.notes).toEqual(["security: binary files skipped: assets/logo.png", "quality: deleted files skipped: a.ts"]);
    expect(summary.tokens).toBe(2000);
  });

  // BUG (src/reviews/round.ts, summariseRound + mergeAcrossAngles): a duplicate from an advisory
  // angle that is more severe wins the merge, and the non-advisory angle's report disappears into
  // its alsoFrom: the finding is then left out of `blocking` (advisory) and out of the
  // non-advisory angle's outcome count, so an advisory angle silences a blocking finding.
  // Input: blockOn minor, advisory [quality]; security reports a minor shell-injection finding,
  // quality (advisory) the same problem as major. Expected: the security finding still blocks
  // (countBlocking 1, one blocking line). Actual: countBlocking 0, no blocking line.
  it("does not let an advisory angle's duplicate swallow another angle's blocking finding", () => {
    const config = cfg({ blockOn: "minor", advisory: ["quality"] });
    const summary = summariseRound({
      results: [
        ok("security", [finding("security", { rule: "security/shell-injection", severity: "minor" })]),
        ok("quality", [finding("quality", { severity: "major", title: "Shell command built from interpolated input" })]),
      ],
      earlier: [],
      config,
    });
    expect(countBlocking(config, summary.outcomes)).toBe(1);
    expect(summary.blocking).toHaveLength(1);
  });

  // BUG (src/reviews/round.ts, summariseRound: outcomes): an earlier blocking finding carried
  // over because its angle failed (or did not run) this round is listed in `blocking`, but no
  // outcome counts it (a failed outcome has blocking 0; an angle that did not run has no outcome),
  // and decide's gate (countBlocking over the outcomes) passes with onAngleFailure "ignore": a
  // still-open blocker reaches CI and approval. Input: earlier security blocker, security fails
  // this round. Expected: the gate's count agrees with the blocking lines (1). Actual: 0 vs 1.
  it("counts a blocker carried over from a failed angle the same way in the gate and the feedback", () => {
    const blocker = finding("security", { rule: "security/shell-injection", severity: "blocker" });
    const summary = summariseRound({ results: [failed("security", "LLM timeout"), ok("quality", [])], earlier: [blocker], config: DEFAULTS });
    expect(summary.blocking).toHaveLength(1);
    expect(countBlocking(DEFAULTS, summary.outcomes)).toBe(summary.blocking.length);
  });

  it("counts a blocker carried over from an angle that did not run the same way in the gate and the feedback", () => {
    const blocker = finding("security", { rule: "security/shell-injection", severity: "blocker" });
    const summary = summariseRound({ results: [ok("quality", [])], earlier: [blocker], config: DEFAULTS });
    expect(summary.blocking).toHaveLength(1);
    expect(countBlocking(DEFAULTS, summary.outcomes)).toBe(summary.blocking.length);
  });
});
