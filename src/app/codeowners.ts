import picomatch from "picomatch";

export interface CodeownersRule {
  pattern: string;
  owners: string[];
  matches: (path: string) => boolean;
}

/**
 * Parses a CODEOWNERS file. Patterns follow .gitignore rules as GitHub applies them: a leading
 * or inner `/` anchors to the root, otherwise the pattern matches at any depth; a pattern names
 * a file or everything beneath a directory.
 */
export function parseCodeowners(text: string): CodeownersRule[] {
  const rules: CodeownersRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!line) continue;
    const [pattern, ...owners] = line.split(/\s+/);
    if (!pattern) continue;
    const trimmed = pattern.replace(/\/$/, "");
    const anchored = pattern.startsWith("/") || trimmed.slice(1).includes("/");
    const base = anchored ? trimmed.replace(/^\//, "") : `**/${trimmed}`;
    const isMatch = picomatch([base, `${base}/**`], { dot: true });
    rules.push({ pattern, owners, matches: (path) => isMatch(path) });
  }
  return rules;
}

/** The owners of a path: the last matching rule wins, as on GitHub. */
export function ownersOf(rules: readonly CodeownersRule[], path: string): string[] {
  for (let index = rules.length - 1; index >= 0; index--) {
    if (rules[index]!.matches(path)) return rules[index]!.owners;
  }
  return [];
}

export const CODEOWNERS_PATHS = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];
