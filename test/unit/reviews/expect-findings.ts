// The exact-findings check the four <angle>-analyzers tests share.
import { expect } from "vitest";
import type { Severity } from "../../../src/pipeline/config.js";
import type { Analyzer, AnalyzerInput } from "../../../src/reviews/analyzer.js";
import type { FindingDraft } from "../../../src/reviews/finding.js";

/** One expected finding; `snippet` is text its line must hold, so a line number cannot drift unnoticed. */
export type Expected = [path: string, line: number, severity: Severity, snippet: string];

export const brief = (findings: readonly FindingDraft[]) => findings.map(({ rule, path, line, severity }) => ({ rule, path, line, severity }));

/** `expectFindings(analyzer, fixture, expected)`: runs one analyzer on a fixture and checks its exact findings and their lines. */
export function findingsChecker<Options>(fixtures: { load(name: string, options?: Options): AnalyzerInput; afterLine(name: string, path: string, line: number): string }) {
  return function expectFindings(analyzer: Analyzer, name: string, expected: Expected[], options?: Options): FindingDraft[] {
    const findings = analyzer.run(fixtures.load(name, options));
    expect(brief(findings)).toEqual(expected.map(([path, line, severity]) => ({ rule: analyzer.rule, path, line, severity })));
    for (const [path, line, , snippet] of expected) expect(fixtures.afterLine(name, path, line), `${name}: ${path}:${line}`).toContain(snippet);
    return findings;
  };
}
