// renderStatusComment / runMarker: the sticky comment rendered from a stored run.
import { describe, expect, it } from "vitest";
import { renderStatusComment, runMarker } from "../../src/app/status-comment.js";
import { RepoConfig } from "../../src/pipeline/config.js";
import type { Stage } from "../../src/pipeline/run.js";
import { RUN_AT as AT, makeRun } from "../support/run-factory.js";

const STAGES: Stage[] = ["intake", "implement", "review", "ci", "approval", "merge", "close"];

/** The line with the stage arrows. */
function stageLine(body: string): string {
  const line = body.split("\n").find((l) => l.includes(" → "));
  if (!line) throw new Error(`no stage line in:\n${body}`);
  return line;
}

/** Rows of the first two-column table, as `name → value`. */
function summary(body: string): Record<string, string> {
  const rows: Record<string, string> = {};
  for (const match of body.matchAll(/^\| ([A-Z][\w ]+) \| (.*) \|$/gm)) rows[match[1]!] = match[2]!;
  return rows;
}

describe("runMarker", () => {
  it("is an HTML comment naming the run", () => {
    expect(runMarker("186853002-42-1")).toBe("<!-- conveyor:run=186853002-42-1 -->");
  });

  it("differs per run, so one run never finds another's comment", () => {
    expect(runMarker("1-2-1")).not.toBe(runMarker("1-2-10"));
    expect(runMarker("1-2-10").includes(runMarker("1-2-1"))).toBe(false);
  });
});

describe("renderStatusComment: header", () => {
  it("starts with the run's marker on the first line", () => {
    const body = renderStatusComment(makeRun());
    expect(body.split("\n")[0]).toBe(runMarker("186853002-42-1"));
  });

  it.each([
    ["active", "🟢 running"],
    ["paused", "⏸️ paused"],
    ["needs-human", "🙋 needs a human"],
    ["done", "✅ done"],
    ["cancelled", "⛔ cancelled"],
    ["failed", "❌ failed"],
  ] as const)("a %s run is headed %s", (state, label) => {
    expect(renderStatusComment(makeRun({ state })).split("\n")[1]).toBe(`### Conveyor run \`186853002-42-1\` — ${label}`);
  });
});

describe("renderStatusComment: stage line", () => {
  it.each(STAGES.map((stage, index) => [stage, index] as const))("in %s: earlier stages struck, the current bold, later plain", (stage, index) => {
    const line = stageLine(renderStatusComment(makeRun({ stage })));
    const parts = line.split(" → ");
    expect(parts).toHaveLength(STAGES.length);
    parts.forEach((part, i) => {
      const name = STAGES[i]!;
      if (i < index) expect(part).toBe(`~~${name}~~`);
      else if (i === index) expect(part).toBe(`**${name}**`);
      else expect(part).toBe(name);
    });
  });

  it("exactly one stage is bold while the run is not done", () => {
    const line = stageLine(renderStatusComment(makeRun({ stage: "ci", state: "paused" })));
    expect(line.match(/\*\*\w+\*\*/g)).toEqual(["**ci**"]);
  });

  it("a done run strikes every stage and bolds none", () => {
    const line = stageLine(renderStatusComment(makeRun({ stage: "close", state: "done" })));
    expect(line).toBe(STAGES.map((s) => `~~${s}~~`).join(" → "));
  });
});

describe("renderStatusComment: summary table", () => {
  it("without config or PR: bare round and tokens, a dash for the PR", () => {
    const rows = summary(renderStatusComment(makeRun({ stage: "implement", tokens: 1234 })));
    expect(rows).toMatchObject({
      Stage: "implement",
      "Fix round": "0",
      "Pull request": "—",
      Tokens: "1,234",
      "Started by": "@octocat",
      Updated: AT,
    });
  });

  it("with config and PR: limits from the config and the PR's short head sha", () => {
    const config = RepoConfig.parse({ limits: { maxFixRounds: 5, tokenBudget: 1_000_000 } });
    const pr = { number: 17, branch: "conveyor/42-fix-the-login", headSha: "0123456789abcdef" };
    const rows = summary(renderStatusComment(makeRun({ stage: "review", round: 2, config, pr, tokens: 54321 })));
    expect(rows).toMatchObject({
      "Fix round": "2 of 5",
      "Pull request": "#17 (`0123456`)",
      Tokens: "54,321 of 1,000,000",
    });
  });
});

describe("renderStatusComment: reason", () => {
  const reason = { what: "CI failed three times on lint", next: "fix the lint job, then `/conveyor retry`" };

  it.each(["needs-human", "paused", "failed", "cancelled"] as const)("a %s run says Why and Next", (state) => {
    const body = renderStatusComment(makeRun({ state, stage: "ci", reason }));
    const lines = body.split("\n");
    const why = lines.indexOf(`> **Why:** ${reason.what}`);
    expect(why).toBeGreaterThan(0);
    expect(lines[why + 1]).toBe(`> **Next:** ${reason.next}`);
    expect(body).not.toContain("**Note:**");
  });

  it("an active run with a reason calls it a Note", () => {
    const body = renderStatusComment(makeRun({ reason }));
    expect(body).toContain(`> **Note:** ${reason.what}\n> **Next:** ${reason.next}`);
    expect(body).not.toContain("**Why:**");
  });

  it("no reason, no Why/Next block", () => {
    const body = renderStatusComment(makeRun({ state: "needs-human" }));
    expect(body).not.toMatch(/\*\*(Why|Next|Note):\*\*/);
  });
});

describe("renderStatusComment: reviews", () => {
  it("no reviews, no reviews table", () => {
    const body = renderStatusComment(makeRun({ stage: "review" }));
    expect(body).not.toContain("**Reviews**");
    expect(body).not.toContain("| Angle |");
  });

  it("one row per angle with result, blocking and total findings", () => {
    const body = renderStatusComment(
      makeRun({
        stage: "review",
        reviews: [
          { angle: "security", status: "ok", blocking: 2, total: 5 },
          { angle: "quality", status: "failed", blocking: 0, total: 0, error: "model timed out" },
          { angle: "architecture", status: "failed", blocking: 0, total: 0 },
        ],
      }),
    );
    const lines = body.split("\n");
    const heading = lines.indexOf("**Reviews**");
    expect(heading).toBeGreaterThan(0);
    expect(lines.slice(heading + 2, heading + 7)).toEqual([
      "| Angle | Result | Blocking | Findings |",
      "| --- | --- | --- | --- |",
      "| security | ok | 2 | 5 |",
      "| quality | failed: model timed out | 0 | 0 |",
      "| architecture | failed: unknown | 0 | 0 |",
    ]);
  });
});

describe("renderStatusComment: rounds", () => {
  const initial = { round: 0, reason: "initial" as const, summary: "first implementation", startedAt: AT };
  const fix = { round: 1, reason: "ci" as const, summary: "fix the failing lint job", startedAt: AT };

  it.each([
    ["no rounds", []],
    ["one round", [initial]],
  ])("%s: no rounds details", (_what, rounds) => {
    expect(renderStatusComment(makeRun({ rounds }))).not.toContain("<details>");
  });

  it("more than one round: a details block listing each with its reason", () => {
    const body = renderStatusComment(makeRun({ stage: "review", round: 1, rounds: [initial, fix] }));
    expect(body).toContain(
      ["<details><summary>Rounds</summary>", "", "- round 0 (initial): first implementation", "- round 1 (ci): fix the failing lint job", "", "</details>"].join("\n"),
    );
  });
});

describe("renderStatusComment: commands footer", () => {
  it("uses /conveyor when no config is loaded", () => {
    const last = renderStatusComment(makeRun()).split("\n").at(-1)!;
    expect(last).toMatch(/^<sub>Commands: .*<\/sub>$/);
    for (const command of ["status", "pause", "resume", "retry", "cancel", "help"]) expect(last).toContain(`\`/conveyor ${command}\``);
  });

  it("uses the configured command prefix", () => {
    const last = renderStatusComment(makeRun({ config: RepoConfig.parse({ commandPrefix: "/ship" }) })).split("\n").at(-1)!;
    expect(last).toContain("`/ship pause`");
    expect(last).toContain("`/ship help`");
    expect(last).not.toContain("/conveyor");
  });
});

it("is deterministic: the same run renders the same comment", () => {
  const run = makeRun({ stage: "approval", tokens: 99, reason: { what: "a", next: "b" } });
  expect(renderStatusComment(run)).toBe(renderStatusComment(structuredClone(run)));
});

describe("renderStatusComment: untrusted text stays inside its cell and quote", () => {
  it("escapes column separators and flattens line breaks in review errors and reasons", () => {
    const body = renderStatusComment(
      makeRun({
        state: "needs-human",
        reviews: [{ angle: "security", status: "failed", blocking: 0, total: 0, error: "bad | output\nsecond line" }],
        reason: { what: "merge failed:\n| injected | row |", next: "retry" },
      }),
    );
    const row = body.split("\n").find((line) => line.startsWith("| security"));
    expect(row).toBe("| security | failed: bad \\| output second line | 0 | 0 |");
    expect(body).toContain("> **Why:** merge failed: \\| injected \\| row \\|");
    expect(body.split("\n").some((line) => line.startsWith("| injected"))).toBe(false);
  });
});
