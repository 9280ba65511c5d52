// parseCommands: slash commands in a comment body, never from code or quotes.
import { describe, expect, it } from "vitest";
import { parseCommands } from "../../src/app/commands.js";
import { Command } from "../../src/pipeline/events.js";

const ID = 4242;

/** [name, ...args] of each command found, for compact expectations. */
function found(body: string, prefix?: string): string[][] {
  const commands = parseCommands(body, ID, prefix);
  for (const command of commands) {
    expect(Command.parse(command)).toEqual(command);
    expect(command.commentId).toBe(ID);
  }
  return commands.map(({ name, args }) => [name, ...args]);
}

describe("parseCommands: single commands", () => {
  it.each(["status", "retry", "review", "fix", "pause", "resume", "cancel", "help"])("/conveyor %s → %s", (name) => {
    expect(parseCommands(`/conveyor ${name}`, ID)).toEqual([{ name, args: [], commentId: ID, text: `/conveyor ${name}` }]);
  });

  it("keeps the arguments after the command word, split on any whitespace", () => {
    expect(parseCommands("/conveyor fix   the flaky\ttest", ID)).toEqual([
      { name: "fix", args: ["the", "flaky", "test"], commentId: ID, text: "/conveyor fix   the flaky\ttest" },
    ]);
  });

  it.each(["/conveyor PAUSE", "/conveyor Pause", "/conveyor pAuSe"])("the command word is case-insensitive: %s", (body) => {
    expect(found(body)).toEqual([["pause"]]);
  });

  it("an unknown command word → unknown, keeping the text for the help reply", () => {
    expect(parseCommands("/conveyor deploy now", ID)).toEqual([{ name: "unknown", args: ["now"], commentId: ID, text: "/conveyor deploy now" }]);
  });

  it.each(["/conveyor", "/conveyor   ", "   /conveyor"])("a bare prefix %j → help", (body) => {
    expect(parseCommands(body, ID)).toEqual([{ name: "help", args: [], commentId: ID, text: "/conveyor" }]);
  });

  it.each(["  /conveyor pause", "\t/conveyor pause", "/conveyor pause   "])("surrounding whitespace is allowed: %j", (body) => {
    expect(parseCommands(body, ID)).toEqual([{ name: "pause", args: [], commentId: ID, text: "/conveyor pause" }]);
  });
});

describe("parseCommands: what is not a command", () => {
  it.each([
    ["an empty body", ""],
    ["prose", "Looks good to me"],
    ["a longer word sharing the prefix", "/conveyorx pause"],
    ["the prefix glued to the command", "/conveyorpause"],
    ["a prefix mid-line", "please run /conveyor pause"],
    ["a prefix in inline code mid-line", "type `/conveyor cancel` to stop it"],
    ["another bot's command", "/deploy pause"],
    ["the prefix without its slash", "conveyor pause"],
  ])("%s", (_what, body) => {
    expect(parseCommands(body, ID)).toEqual([]);
  });

  it.each([
    ["a quoted line", "> /conveyor cancel"],
    ["a quoted line without a space", ">/conveyor cancel"],
    ["an indented quoted line", "  > /conveyor cancel"],
    ["a nested quote", "> > /conveyor cancel"],
  ])("%s is not parsed", (_what, body) => {
    expect(parseCommands(`Someone wrote:\n${body}\nI disagree.`, ID)).toEqual([]);
  });

  it.each([
    ["a ``` fence", "```\n/conveyor cancel\n```"],
    ["a ``` fence with an info string", "```sh\n/conveyor cancel\n```"],
    ["a ~~~ fence", "~~~\n/conveyor cancel\n~~~"],
    ["an indented fence", "  ```\n/conveyor cancel\n  ```"],
    ["an unclosed fence", "```\n/conveyor cancel"],
  ])("a command inside %s is not parsed", (_what, body) => {
    expect(parseCommands(`To stop it:\n${body}\n`, ID)).toEqual([]);
  });

  it("commands after a closed fence are parsed again", () => {
    expect(found("```\n/conveyor cancel\n```\n/conveyor pause\n~~~\n/conveyor cancel\n~~~\n/conveyor resume")).toEqual([["pause"], ["resume"]]);
  });

  // In Markdown a fence only closes on the same character it opened with: a ~~~ line inside a
  // ``` block (or the reverse) must not "close" it and let the quoted command run.
  it("a ~~~ line inside a ``` block does not close it", () => {
    expect(parseCommands("```\n~~~\n/conveyor cancel\n```", ID)).toEqual([]);
  });

  it("a ``` line inside a ~~~ block does not close it", () => {
    expect(parseCommands("~~~md\n```\n/conveyor cancel\n~~~", ID)).toEqual([]);
  });

  it("a one-line ```code``` span is not a fence", () => {
    expect(parseCommands("see ```x```\n```x```\n/conveyor pause", ID).map((c) => c.name)).toEqual(["pause"]);
  });
});

describe("parseCommands: several commands", () => {
  it("finds every command line, in order, with its own args and text", () => {
    const body = "Thanks!\n/conveyor pause\n\nsome words\n/conveyor fix lint errors\r\n/conveyor nope\n/conveyor";
    expect(parseCommands(body, ID)).toEqual([
      { name: "pause", args: [], commentId: ID, text: "/conveyor pause" },
      { name: "fix", args: ["lint", "errors"], commentId: ID, text: "/conveyor fix lint errors" },
      { name: "unknown", args: [], commentId: ID, text: "/conveyor nope" },
      { name: "help", args: [], commentId: ID, text: "/conveyor" },
    ]);
  });

  it("handles CRLF line endings", () => {
    expect(found("/conveyor pause\r\n/conveyor resume\r\n")).toEqual([["pause"], ["resume"]]);
  });

  it("a repeated command is reported each time", () => {
    expect(found("/conveyor retry\n/conveyor retry")).toEqual([["retry"], ["retry"]]);
  });
});

describe("parseCommands: another prefix", () => {
  it("parses commands with the given prefix", () => {
    expect(parseCommands("/ship pause\n/ship", ID, "/ship")).toEqual([
      { name: "pause", args: [], commentId: ID, text: "/ship pause" },
      { name: "help", args: [], commentId: ID, text: "/ship" },
    ]);
  });

  it("ignores the default prefix when another is given", () => {
    expect(found("/conveyor pause", "/ship")).toEqual([]);
  });

  it("a longer word sharing the custom prefix is not a command", () => {
    expect(found("/shipit pause", "/ship")).toEqual([]);
  });

  it("a hyphenated prefix works (config allows /[a-z-]+)", () => {
    expect(found("/my-bot cancel now", "/my-bot")).toEqual([["cancel", "now"]]);
  });
});
