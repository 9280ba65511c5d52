// `conveyor replay` as a process: signs recorded payloads and sends them to a running app.
import { createServer, type Server } from "node:http";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import { webhook } from "../support/github/webhooks.js";
import { runCli } from "./run-cli.js";

let app: TestConveyor;
let sink: Server;
let sinkUrl: string;
const received: string[] = [];

beforeAll(async () => {
  app = await startTestConveyor("web");
  sink = createServer((req, res) => {
    received.push(String(req.headers["x-github-delivery"]));
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/`;
});
afterAll(async () => {
  await app.stop();
  await new Promise((resolve) => sink.close(resolve));
});

function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "conveyor-replay-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
  return dir;
}

describe("conveyor replay", { timeout: 120_000 }, () => {
  it("signs and sends a folder of recorded and raw payloads to the app, with a progress line each", async () => {
    const labeled = webhook("issues", "labeled", { label: { name: "conveyor" }, issue: { number: 601 } });
    const comment = webhook("issues", "labeled", { label: { name: "conveyor" }, issue: { number: 602 } });
    const dir = folder({
      "01-recorded.json": { name: labeled.name, id: "replayed-delivery-1", payload: labeled.payload },
      "issues.labeled.json": comment.payload,
      "notes.txt": "not a payload: skipped",
    });
    const result = await runCli(["replay", dir, "--to", `${app.url}/api/github/webhooks`], { WEBHOOK_SECRET: app.secret });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\[#{10}-{10}\] 1\/2 01-recorded\.json issues replayed-delivery-1 → 200$/);
    expect(lines[1]).toMatch(/^\[#{20}\] 2\/2 issues\.labeled\.json issues [\w-]+ → 200$/);
    expect(lines[2]).toBe("replayed 2 of 2 deliveries");
    const history = await app.conveyor.engine.store.history("186853002-601");
    expect(history).toMatchObject([{ kind: "event", source: "replayed-delivery-1", event: { type: "issue.labeled" } }]);
    expect(await app.conveyor.engine.store.history("186853002-602")).toHaveLength(1);
  });

  it("reports a refused delivery (wrong secret) with exit code 1", async () => {
    const dir = folder({ "issues.labeled.json": webhook("issues", "labeled", { label: { name: "conveyor" } }).payload });
    const result = await runCli(["replay", dir, "--to", `${app.url}/api/github/webhooks`, "--secret", "wrong"], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("→ 400");
    expect(result.stdout).toContain("1 refused");
  });

  it.each([
    ["not JSON", { "a.json": "{ nope" }, "a.json: not valid JSON"],
    ["a recorded delivery without a name", { "b.json": { payload: { action: "labeled" } } }, "b.json: not a recorded delivery {name, id?, payload}: name:"],
    ["a raw payload whose action does not match its file name", { "issues.closed.json": { action: "labeled" } }, 'issues.closed.json: the name says action "closed" but the payload\'s action is "labeled"'],
    ["a raw payload named like no event", { "payload-3.json": { action: "labeled" } }, "payload-3.json: a raw payload file must be named <event>.<action>.json"],
  ])("names the file and the problem of %s, and sends nothing", async (_what, files, problem) => {
    const good = webhook("issues", "labeled", { label: { name: "conveyor" } });
    const dir = folder({ "00-good.json": { name: good.name, payload: good.payload }, ...files });
    const before = received.length;
    const result = await runCli(["replay", dir, "--to", sinkUrl], { WEBHOOK_SECRET: "s" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(problem);
    expect(result.stderr).toContain("nothing was sent");
    expect(received.length).toBe(before);
  });

  it("answers bad usage with 2", async () => {
    const dir = folder({});
    mkdirSync(join(dir, "sub"));
    const results = await Promise.all([
      runCli(["replay", dir], { WEBHOOK_SECRET: "s" }),
      runCli(["replay", dir, "--to", "ftp://x"], { WEBHOOK_SECRET: "s" }),
      runCli(["replay", dir, "--to", sinkUrl], {}),
      runCli(["replay", "--to", sinkUrl], { WEBHOOK_SECRET: "s" }),
    ]);
    expect(results.map((result) => result.code)).toEqual([2, 2, 2, 2]);
    const empty = await runCli(["replay", dir, "--to", sinkUrl], { WEBHOOK_SECRET: "s" });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("no .json files");
  });
});
