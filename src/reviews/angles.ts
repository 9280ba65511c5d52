import type { Angle } from "../pipeline/config.js";
import { architectureAnalyzers } from "./architecture/analyzers.js";
import { candidatePaths, importSpecifiers } from "./architecture/imports.js";
import type { ParsedDiff } from "./diff.js";
import type { AngleDefinition } from "./graph.js";
import { qualityAnalyzers } from "./quality/analyzers.js";
import { securityAnalyzers } from "./security/analyzers.js";
import { techstackAnalyzers } from "./techstack/analyzers.js";

/** The four reviewers: each a LangGraph graph of its own analyzers and its own focus for the model. */
export const ANGLE_DEFINITIONS: Record<Angle, AngleDefinition> = {
  architecture: {
    angle: "architecture",
    analyzers: architectureAnalyzers,
    focus: "Look at structure: module boundaries and layering, dependency direction, import cycles, cohesion, duplicated logic, abstractions that leak, and whether the change fits the codebase's existing patterns.",
  },
  security: {
    angle: "security",
    analyzers: securityAnalyzers,
    focus: "Look for vulnerabilities: injection (SQL, shell, template, script injection in CI workflows), secrets in code, authentication and authorization mistakes, unsafe deserialization, SSRF, path traversal, weak cryptography, and trust placed in user input.",
  },
  quality: {
    angle: "quality",
    analyzers: qualityAnalyzers,
    focus: "Look at correctness and maintainability: bugs, unhandled errors and edge cases, missing or weak tests for changed behaviour, unclear names, overly long functions, dead or debug code.",
  },
  techstack: {
    angle: "techstack",
    analyzers: techstackAnalyzers,
    focus: "Look at dependencies and tooling: new or duplicate-purpose libraries, major version bumps and their breaking changes, lockfiles, deprecated APIs, and use of the project's established libraries instead of new ones.",
  },
};

/** Files worth reading besides the changed ones: what the changed files import (one level), for cycles and layers. */
export function relatedFiles(diff: ParsedDiff, files: ReadonlyMap<string, string>): string[] {
  const wanted = new Set<string>();
  for (const file of diff.files) {
    const content = files.get(file.path);
    if (!content) continue;
    for (const specifier of importSpecifiers(file.path, content)) {
      // Each candidate that does not exist costs a request: the two likeliest spellings only.
      for (const candidate of candidatePaths(file.path, specifier).slice(0, 2)) wanted.add(candidate);
    }
  }
  for (const path of files.keys()) wanted.delete(path);
  return [...wanted].slice(0, 60);
}
