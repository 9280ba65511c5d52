// Real `git diff` fixtures of the review analyzers (test/fixtures/diffs/<angle>/): `<case>.diff`,
// the changed files' new contents in `<case>.after.json`, and optional `<case>.config.json`
// (the `review` section of .github/conveyor.yml).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RepoConfig } from "../../src/pipeline/config.js";
import type { AnalyzerInput } from "../../src/reviews/analyzer.js";
import { parseUnifiedDiff } from "../../src/reviews/diff.js";

export function diffFixtures(folder: string) {
  const dir = fileURLToPath(new URL(`../fixtures/diffs/${folder}/`, import.meta.url));
  const cases = readdirSync(dir)
    .filter((name) => name.endsWith(".diff"))
    .map((name) => name.slice(0, -".diff".length))
    .sort();

  /** The fixture's texts; `rewrite` changes them before parsing (e.g. to drop injected text). */
  function read(name: string, rewrite = (text: string) => text) {
    const diffText = rewrite(readFileSync(join(dir, `${name}.diff`), "utf8"));
    const after = JSON.parse(rewrite(readFileSync(join(dir, `${name}.after.json`), "utf8"))) as Record<string, string>;
    const configFile = join(dir, `${name}.config.json`);
    const review: unknown = existsSync(configFile) ? JSON.parse(readFileSync(configFile, "utf8")) : {};
    return { diffText, after, config: RepoConfig.parse({ review }) };
  }

  /** The analyzer input: with the new files' content (as on GitHub) or the diff alone. */
  function load(name: string, { files = true, rewrite }: { files?: boolean; rewrite?: (text: string) => string } = {}): AnalyzerInput {
    const { diffText, after, config } = read(name, rewrite);
    return { diff: parseUnifiedDiff(diffText), files: new Map(files ? Object.entries(after) : []), config };
  }

  /** Text of a line of a fixture's new file. */
  function afterLine(name: string, path: string, line: number): string {
    const content = read(name).after[path];
    if (content === undefined) throw new Error(`${name}: no after-file ${path}`);
    return content.split(/\r?\n/)[line - 1] ?? "";
  }

  return { dir, cases, read, load, afterLine };
}
