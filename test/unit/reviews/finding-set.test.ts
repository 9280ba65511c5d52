// FindingSet, the collector every deterministic analyzer reports through: one finding per
// (path, line), the rule named once; a repeated line is dropped (keep-first) or merged (merge).
import { describe, expect, it } from "vitest";
import { FindingSet, type FindingText } from "../../../src/reviews/finding.js";

const text = (overrides: Partial<FindingText> = {}): FindingText => ({
  severity: "minor",
  title: "First title",
  rationale: "First rationale.",
  suggestion: "First suggestion.",
  ...overrides,
});

describe("FindingSet", () => {
  it("gives every finding the set's rule, in the order lines were first reported", () => {
    const found = new FindingSet("demo/rule");
    found.add("b.ts", 3, text({ title: "b3" }));
    found.add("a.ts", 7, text({ title: "a7", anchor: "whole change" }));
    expect(found.findings).toEqual([
      { rule: "demo/rule", path: "b.ts", line: 3, severity: "minor", title: "b3", rationale: "First rationale.", suggestion: "First suggestion." },
      { rule: "demo/rule", path: "a.ts", line: 7, severity: "minor", title: "a7", rationale: "First rationale.", suggestion: "First suggestion.", anchor: "whole change" },
    ]);
  });

  it("keeps the first report of a line by default and drops later ones, whatever their severity", () => {
    const found = new FindingSet("demo/rule");
    found.add("a.ts", 1, text());
    found.add("a.ts", 1, text({ severity: "blocker", title: "Second title", rationale: "Second rationale.", suggestion: "Second suggestion." }));
    expect(found.findings).toEqual([{ rule: "demo/rule", path: "a.ts", line: 1, ...text() }]);
  });

  it("keeps findings on different lines, and on the same line of different files, apart (in both modes)", () => {
    for (const repeats of ["keep-first", "merge"] as const) {
      const found = new FindingSet("demo/rule", { repeats });
      found.add("a.ts", 1, text({ title: "a1" }));
      found.add("a.ts", 2, text({ title: "a2" }));
      found.add("b.ts", 1, text({ title: "b1" }));
      expect(found.findings.map(({ path, line, title }) => `${path}:${line} ${title}`), repeats).toEqual(["a.ts:1 a1", "a.ts:2 a2", "b.ts:1 b1"]);
    }
  });

  describe("merging repeats", () => {
    it("keeps the highest severity, whichever report had it", () => {
      const rising = new FindingSet("demo/rule", { repeats: "merge" });
      rising.add("a.ts", 1, text({ severity: "nit" }));
      rising.add("a.ts", 1, text({ severity: "major" }));
      rising.add("a.ts", 1, text({ severity: "minor" }));
      expect(rising.findings.map((finding) => finding.severity)).toEqual(["major"]);
      const falling = new FindingSet("demo/rule", { repeats: "merge" });
      falling.add("a.ts", 1, text({ severity: "blocker" }));
      falling.add("a.ts", 1, text({ severity: "nit" }));
      expect(falling.findings.map((finding) => finding.severity)).toEqual(["blocker"]);
    });

    it("joins texts that differ (title with '; ', rationale with a blank line, suggestion with a newline), keeping rule, path, line and anchor", () => {
      const found = new FindingSet("demo/rule", { repeats: "merge" });
      found.add("a.ts", 4, text({ anchor: "first anchor" }));
      found.add("a.ts", 4, text({ title: "Second title", rationale: "Second rationale.", suggestion: "Second suggestion.", anchor: "second anchor" }));
      expect(found.findings).toEqual([
        {
          rule: "demo/rule",
          path: "a.ts",
          line: 4,
          severity: "minor",
          title: "First title; Second title",
          rationale: "First rationale.\n\nSecond rationale.",
          suggestion: "First suggestion.\nSecond suggestion.",
          anchor: "first anchor",
        },
      ]);
    });

    it("does not repeat identical text, and does not join empty text (an empty first text takes the later one)", () => {
      const found = new FindingSet("demo/rule", { repeats: "merge" });
      found.add("a.ts", 1, text({ suggestion: "" }));
      found.add("a.ts", 1, text({ suggestion: "" }));
      found.add("a.ts", 1, text({ title: "Second title", suggestion: "Later suggestion." }));
      found.add("a.ts", 1, text({ title: "", rationale: "", suggestion: "" }));
      expect(found.findings).toEqual([
        { rule: "demo/rule", path: "a.ts", line: 1, severity: "minor", title: "First title; Second title", rationale: "First rationale.", suggestion: "Later suggestion." },
      ]);
    });

    it("caps merged texts at the schema's limits: title 200 characters, rationale and suggestion 2000", () => {
      const found = new FindingSet("demo/rule", { repeats: "merge" });
      for (let report = 0; report < 30; report++) {
        found.add("a.ts", 1, text({ title: `Title ${report} ${"t".repeat(20)}`, rationale: `Rationale ${report} ${"r".repeat(200)}`, suggestion: `Suggestion ${report} ${"s".repeat(200)}` }));
      }
      const [finding] = found.findings;
      expect(finding!.title).toHaveLength(200);
      expect(finding!.title.startsWith(`Title 0 ${"t".repeat(20)}; Title 1 `)).toBe(true);
      expect(finding!.rationale).toHaveLength(2000);
      expect(finding!.rationale.startsWith(`Rationale 0 ${"r".repeat(200)}\n\nRationale 1 `)).toBe(true);
      expect(finding!.suggestion).toHaveLength(2000);
      expect(finding!.suggestion.startsWith(`Suggestion 0 ${"s".repeat(200)}\nSuggestion 1 `)).toBe(true);
    });
  });
});
