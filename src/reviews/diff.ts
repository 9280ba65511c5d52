import parseDiff from "parse-diff";

export interface DiffLine {
  /** Line number in the new file. */
  line: number;
  text: string;
}

export interface HunkLine {
  kind: "add" | "del" | "context";
  text: string;
  /** Line number in the new file (add, context) or the old file (del). */
  line: number;
}

export interface DiffFile {
  path: string;
  /** The path before a rename, else null. */
  previousPath: string | null;
  status: "added" | "modified" | "deleted" | "renamed";
  binary: boolean;
  /** GitHub sent no patch for this text file because its diff is too large. */
  tooLarge?: boolean;
  /** Lines added by the change, with their line numbers in the new file. */
  added: DiffLine[];
  /** Lines removed by the change (line numbers in the old file). */
  removed: DiffLine[];
  /** Every new-file line number that appears in the diff (added or context): where GitHub accepts inline comments. */
  commentable: ReadonlySet<number>;
  /** The hunks as lines, for showing the change to a model. */
  hunks: { header: string; lines: HunkLine[] }[];
}

export interface ParsedDiff {
  files: DiffFile[];
}

/** Git quotes paths with unusual bytes C-style (`"caf\303\251.md"`): decode them to the real name. */
export function unquoteGitPath(path: string): string {
  const quoted = /^"(.*)"$/.exec(path)?.[1] ?? path;
  if (!quoted.includes("\\")) return quoted;
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, "\\": 92, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < quoted.length; i++) {
    const char = quoted[i]!;
    if (char !== "\\") {
      bytes.push(...Buffer.from(char, "utf8"));
      continue;
    }
    const octal = /^[0-7]{3}/.exec(quoted.slice(i + 1))?.[0];
    if (octal) {
      bytes.push(parseInt(octal, 8));
      i += 3;
    } else {
      const next = quoted[i + 1] ?? "";
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

const stripPrefix = (path: string | undefined) => (path && path !== "/dev/null" ? unquoteGitPath(path).replace(/^[ab]\//, "") : null);

/** Splits `git diff` output per file, to spot binary files that parse-diff reports as empty. */
function binaryPaths(text: string): Set<string> {
  const paths = new Set<string>();
  for (const section of text.split(/^diff --git /m).slice(1)) {
    if (!/^Binary files .* differ$|^GIT binary patch$/m.test(section)) continue;
    const header = /^a\/(.+?) b\/(.+)$/m.exec(section);
    if (header) paths.add(header[2]!);
  }
  return paths;
}

/** Parses a unified diff (`git diff`, a .diff/.patch file, GitHub's diff media type). */
export function parseUnifiedDiff(text: string): ParsedDiff {
  const binary = binaryPaths(text);
  const files: DiffFile[] = [];
  for (const file of parseDiff(text)) {
    const from = stripPrefix(file.from);
    const to = stripPrefix(file.to);
    const path = to ?? from;
    if (!path) continue;
    const added: DiffLine[] = [];
    const removed: DiffLine[] = [];
    const commentable = new Set<number>();
    const hunks: DiffFile["hunks"] = [];
    for (const chunk of file.chunks) {
      const lines: HunkLine[] = [];
      for (const change of chunk.changes) {
        // "\ No newline at end of file" is git's remark about the line before, not a line.
        if (change.content.startsWith("\\")) continue;
        const text = change.content.slice(1);
        if (change.type === "add") {
          added.push({ line: change.ln, text });
          commentable.add(change.ln);
          lines.push({ kind: "add", text, line: change.ln });
        } else if (change.type === "del") {
          removed.push({ line: change.ln, text });
          lines.push({ kind: "del", text, line: change.ln });
        } else {
          commentable.add(change.ln2);
          lines.push({ kind: "context", text, line: change.ln2 });
        }
      }
      hunks.push({ header: chunk.content, lines });
    }
    const status = file.deleted || to === null ? "deleted" : file.new || from === null ? "added" : from !== to ? "renamed" : "modified";
    files.push({ path, previousPath: status === "renamed" ? from : null, status, binary: binary.has(path), added, removed, commentable, hunks });
  }
  return { files };
}

/** One entry of `GET /repos/{o}/{r}/pulls/{n}/files` (the fields read). */
export interface PullRequestFile {
  filename: string;
  previous_filename?: string | undefined;
  status: string;
  patch?: string | undefined;
  changes?: number | undefined;
}

const BINARY_EXTENSIONS = /\.(png|jpe?g|gif|webp|ico|bmp|tiff?|pdf|zip|gz|tgz|bz2|xz|7z|rar|jar|war|class|so|dylib|dll|exe|bin|o|a|wasm|woff2?|ttf|otf|eot|mp[34]|mov|avi|webm|ogg|wav|flac|sqlite|db|pyc)$/i;

/** Builds the diff from GitHub's per-file patches; a file without a patch is binary or too large. */
export function diffFromPullRequestFiles(files: readonly PullRequestFile[]): ParsedDiff {
  const parsed: DiffFile[] = [];
  for (const file of files) {
    const from = file.status === "added" ? "/dev/null" : `a/${file.previous_filename ?? file.filename}`;
    const to = file.status === "removed" ? "/dev/null" : `b/${file.filename}`;
    const text = file.patch ? `--- ${from}\n+++ ${to}\n${file.patch}\n` : "";
    const [one] = text ? parseUnifiedDiff(text).files : [];
    const status = file.status === "removed" ? "deleted" : file.status === "added" ? "added" : file.status === "renamed" ? "renamed" : "modified";
    // GitHub sends no patch for binary files, for very large diffs and for pure renames.
    const pureRename = status === "renamed" && (file.changes ?? 0) === 0;
    const noPatch = !file.patch && status !== "deleted" && !pureRename;
    const binary = noPatch && BINARY_EXTENSIONS.test(file.filename);
    parsed.push({
      path: file.filename,
      previousPath: file.previous_filename ?? null,
      status,
      binary,
      ...(noPatch && !binary ? { tooLarge: true } : {}),
      added: one?.added ?? [],
      removed: one?.removed ?? [],
      commentable: one?.commentable ?? new Set(),
      hunks: one?.hunks ?? [],
    });
  }
  return { files: parsed };
}
