import type { DiffFile, ParsedDiff } from "./diff.js";

/** Characters of diff per model call (≈ 6k tokens) and calls per angle: a cost ceiling. */
export const CHUNK_CHARS = 24_000;
export const MAX_CHUNKS = 4;

export interface ModelChunks {
  chunks: string[];
  /** What the model did not see, said in the review so nothing is skipped silently. */
  notes: string[];
}

/** A file's hunks with new-file line numbers, so the model can name the right line. */
function renderFile(file: DiffFile): string {
  const lines = [`### ${file.path} (${file.status}${file.previousPath ? ` from ${file.previousPath}` : ""})`];
  for (const hunk of file.hunks) {
    lines.push(hunk.header);
    for (const line of hunk.lines) {
      if (line.kind === "add") lines.push(`+${String(line.line).padStart(5)} | ${line.text}`);
      else if (line.kind === "context") lines.push(` ${String(line.line).padStart(5)} | ${line.text}`);
      else lines.push(`-${" ".repeat(5)} | ${line.text}`);
    }
  }
  return lines.join("\n");
}

/**
 * Splits the diff into chunks that fit one model call each. Binary and deleted files are left
 * out with a note; a file larger than a chunk is cut; past MAX_CHUNKS the remaining files are
 * left to the analyzers, and the notes say which.
 */
export function chunkDiffForModel(diff: ParsedDiff, chunkChars = CHUNK_CHARS, maxChunks = MAX_CHUNKS): ModelChunks {
  const notes: string[] = [];
  const chunks: string[] = [];
  const skippedBinary = diff.files.filter((file) => file.binary).map((file) => file.path);
  const skippedDeleted = diff.files.filter((file) => file.status === "deleted").map((file) => file.path);
  if (skippedBinary.length) notes.push(`binary files skipped: ${skippedBinary.join(", ")}`);
  if (skippedDeleted.length) notes.push(`deleted files skipped: ${skippedDeleted.join(", ")}`);
  const tooLarge = diff.files.filter((file) => file.tooLarge).map((file) => file.path);
  if (tooLarge.length) notes.push(`diffs too large for GitHub to send, not reviewed line by line: ${tooLarge.join(", ")}`);
  let current = "";
  const omitted: string[] = [];
  for (const file of diff.files) {
    if (file.binary || file.status === "deleted" || file.hunks.length === 0) continue;
    let text = renderFile(file);
    if (text.length > chunkChars) {
      text = `${text.slice(0, chunkChars - 80)}\n… (cut: the rest of ${file.path} is too large for one model call)`;
      notes.push(`${file.path}: only the first ${chunkChars.toLocaleString("en-US")} characters of its diff went to the model`);
    }
    if (current.length + text.length + 2 > chunkChars && current) {
      chunks.push(current);
      current = "";
    }
    if (chunks.length >= maxChunks) {
      omitted.push(file.path);
      continue;
    }
    current = current ? `${current}\n\n${text}` : text;
  }
  if (current && chunks.length < maxChunks) chunks.push(current);
  else if (current) omitted.push("(last chunk)");
  if (omitted.length) notes.push(`diff too large for the model: ${omitted.length} file(s) reviewed by the analyzers only (${omitted.slice(0, 10).join(", ")}${omitted.length > 10 ? ", …" : ""})`);
  return { chunks, notes };
}
