import type { Command, CommandName } from "../pipeline/events.js";

const KNOWN: readonly CommandName[] = ["status", "retry", "review", "fix", "pause", "resume", "cancel", "help"];

/**
 * Finds slash commands in a comment body. Lines inside fenced code blocks and quoted lines (`>`)
 * are never commands: quoting someone's `/conveyor cancel` must not cancel anything.
 */
export function parseCommands(body: string, commentId: number, prefix = "/conveyor"): Command[] {
  const commands: Command[] = [];
  // The open fence ("```", "~~~~", …): only a fence of the same character, at least as long, closes it.
  let fence: string | null = null;
  for (const rawLine of body.split(/\r?\n/)) {
    const line = rawLine.trim();
    const marker = /^(`{3,}(?=[^`]*$)|~{3,})/.exec(line)?.[1];
    if (marker) {
      if (fence === null) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length && line === marker) fence = null;
      continue;
    }
    if (fence !== null || line.startsWith(">")) continue;
    if (line !== prefix && !line.startsWith(`${prefix} `)) continue;
    const [word = "", ...args] = line.slice(prefix.length).trim().split(/\s+/).filter(Boolean);
    const name = (KNOWN as readonly string[]).includes(word.toLowerCase()) ? (word.toLowerCase() as CommandName) : "unknown";
    commands.push({ name: word === "" ? "help" : name, args, commentId, text: line });
  }
  return commands;
}
