import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseUnifiedDiff, type ParsedDiff } from "../diff.js";
import { reviewableFiles } from "../security/support.js";
import type { ReviewContext, ReviewSource } from "../source.js";

const run = promisify(execFile);

export interface LocalTarget {
  /** A diff file, or a git range such as `main...HEAD` (or a single commit). */
  diffOrRange: string;
  /** The repository the range belongs to and file contents are read from. */
  repoDir: string;
  related?: (diff: ParsedDiff, files: ReadonlyMap<string, string>) => string[];
}

/** Reviews a local change with no GitHub at all: a .diff file or a git range in a checkout. */
export function localReviewSource(target: LocalTarget): ReviewSource {
  return {
    async load(): Promise<ReviewContext> {
      const isFile = existsSync(target.diffOrRange) && !target.diffOrRange.includes("..");
      const text = isFile ? readFileSync(target.diffOrRange, "utf8") : await gitDiff(target.repoDir, target.diffOrRange);
      const diff = parseUnifiedDiff(text);
      // Contents come from the range's head when it is a range, else from the working tree.
      const head = isFile ? null : target.diffOrRange.includes("..") ? target.diffOrRange.split(/\.{2,3}/)[1] || "HEAD" : target.diffOrRange;
      const files = new Map<string, string>();
      const read = async (path: string) => {
        if (files.has(path)) return;
        const content = head ? await gitShow(target.repoDir, head, path) : readWorkingTree(target.repoDir, path);
        if (content !== null) files.set(path, content);
      };
      for (const file of reviewableFiles(diff)) await read(file.path);
      if (target.related) for (const path of target.related(diff, files)) await read(path);
      return { diff, files, mode: "full", notes: [] };
    },
  };
}

async function gitDiff(repoDir: string, range: string): Promise<string> {
  const args = range.includes("..") ? ["diff", range] : ["show", "--format=", range];
  const { stdout } = await run("git", ["-C", repoDir, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function gitShow(repoDir: string, ref: string, path: string): Promise<string | null> {
  try {
    const { stdout } = await run("git", ["-C", repoDir, "show", `${ref}:${path}`], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch {
    return null;
  }
}

function readWorkingTree(repoDir: string, path: string): string | null {
  const full = join(repoDir, path);
  return existsSync(full) ? readFileSync(full, "utf8") : null;
}
