// The app's own log (the production logger, src/logger.ts) during a run's work: a labelled issue
// starts a run (config, status comment, implementer dispatch), then a slash command arrives for
// the running run. Every line about the run names it, its stage and its round; the lines of a
// delivery name the delivery; no secret reaches a line.
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, inject } from "vitest";
import { createLogger } from "../../src/logger.js";
import { startConveyor, type Conveyor } from "../../src/main.js";
import { appCredentials, appEnv } from "../support/app-env.js";
import { TestOctokit } from "../support/conveyor.js";
import { fakeGitHub } from "../support/github/fake-github.js";
import { signedRequest } from "../support/github/webhooks.js";
import { KEY, RUN_ID, implementer, issueComment, labeled, repositoryBasics } from "../support/scenario.js";

type Line = Record<string, unknown> & { level: number; msg: string };

const DASHBOARD_TOKEN = "dash-0123456789abcdef-secret";
let conveyor: Conveyor;
let output: string[];
let deliver: (event: { name: string; id: string; payload: unknown }) => Promise<Response>;
let url: string;
let credentials: ReturnType<typeof appCredentials>;

beforeEach(async () => {
  output = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      output.push(chunk.toString());
      callback();
    },
  });
  credentials = appCredentials();
  const app = await appEnv(inject("redisUrl"), credentials, { DASHBOARD_TOKEN });
  url = app.url;
  conveyor = await startConveyor("start", { env: app.env, log: createLogger("debug", stream), Octokit: TestOctokit });
  deliver = (event) => fetch(`${url}/api/github/webhooks`, signedRequest(credentials.secret, event) as RequestInit);
});
afterEach(async () => {
  await conveyor.stop();
});

const lines = (): Line[] => output.join("").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Line);

async function until(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A run through intake to its implementer dispatch, then `/conveyor status` from a maintainer. */
async function runWithTwoDeliveries() {
  const gh = fakeGitHub();
  repositoryBasics(gh);
  implementer(gh, [], { expectPr: false });
  const label = labeled();
  expect((await deliver(label)).status).toBe(200);
  await until(async () => Boolean((await conveyor.engine.store.load(KEY)).run?.workflowRunId), "the dispatch");
  const command = issueComment("maintainer", "/conveyor status");
  expect((await deliver(command)).status).toBe(200);
  await until(async () => gh.calls("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions").length === 1, "the reaction");
  await until(async () => lines().some((line) => line.source === command.id), "the command applied");
  return { label, command };
}

/** Lines about the run: they name it, its issue, or carry its id anywhere. */
const aboutTheRun = (line: Line) => line.runId === RUN_ID || line.issueKey === KEY || JSON.stringify(line).includes(RUN_ID);

describe("log context of a run's work", { timeout: 60_000 }, () => {
  it("every line about the run carries runId, stage and round; ingress and apply lines name the delivery", async () => {
    const { label, command } = await runWithTwoDeliveries();
    const info = lines().filter((line) => line.level >= 30 && aboutTheRun(line));
    // Ingress logs a delivery before any run may exist (a label creates it): it names the
    // delivery and the issue the run belongs to.
    const ingress = info.filter((line) => line.outcome !== undefined);
    expect(ingress.map((line) => [line.deliveryId, line.issueKey, line.msg])).toEqual([
      [label.id, KEY, "issue.labeled appended"],
      [command.id, KEY, "command.received appended"],
    ]);
    const work = info.filter((line) => !ingress.includes(line));
    expect(work.map((line) => line.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^applied issue\.labeled/), expect.stringMatching(/^dispatched conveyor-implement\.yml on main/), expect.stringMatching(/^applied command\.received/)]));
    for (const line of work) {
      expect(line, line.msg).toMatchObject({ runId: RUN_ID, issueKey: KEY, stage: expect.any(String), round: 0 });
    }
    // The event a delivery caused is applied on a line that names the delivery.
    expect(work.find((line) => line.event === "issue.labeled")).toMatchObject({ source: label.id, deliveryId: label.id, stage: "intake" });
    expect(work.find((line) => line.event === "command.received")).toMatchObject({ source: command.id, deliveryId: command.id, stage: "implement" });
    // So do the lines of the effects such an event decided (the effect job carries the delivery);
    // those jobs may still be running when the command's event is applied.
    const fromCommand = () => lines().filter((line) => aboutTheRun(line) && line.effect !== undefined && line.deliveryId === command.id);
    await until(async () => fromCommand().length > 0, "a line of an effect the command decided, naming its delivery");
    for (const line of fromCommand()) expect(line, line.msg).toMatchObject({ runId: RUN_ID, stage: expect.any(String), round: 0 });
  });

  // Probot's Octokit logs every GitHub request at debug level; the effect hands it its own logger.
  it("debug lines of the GitHub requests an effect makes carry the run's bindings too", async () => {
    await runWithTwoDeliveries();
    const requests = lines().filter((line) => line.msg.startsWith("GitHub request:") && aboutTheRun(line));
    expect(requests.length).toBeGreaterThan(0);
    for (const line of requests) expect(line, line.msg).toMatchObject({ runId: RUN_ID, stage: expect.any(String), round: 0 });
  });

  it("keeps the webhook signature, the dashboard token and session cookie out of the HTTP log", async () => {
    await runWithTwoDeliveries();
    const login = await fetch(`${url}/dashboard/login?token=${DASHBOARD_TOKEN}`, { redirect: "manual" });
    const cookie = login.headers.get("set-cookie")?.split(";")[0];
    expect(cookie, `login answered ${login.status}`).toBeTruthy();
    expect((await fetch(`${url}/dashboard`, { headers: { cookie: cookie! } })).status).toBe(200);
    await until(async () => lines().filter((line) => line.name === "http" && String((line.req as { url?: string }).url).startsWith("/dashboard")).length === 2, "the dashboard requests logged");

    const text = output.join("");
    const http = lines().filter((line) => line.name === "http");
    expect(http.find((line) => line.msg.startsWith("GET /dashboard/login"))!.msg).toMatch(/^GET \/dashboard\/login\?token=\[redacted\] 30\d/);
    expect(text).not.toContain(DASHBOARD_TOKEN);
    expect(text).not.toContain(cookie!.split("=")[1]!);
    expect(text).not.toContain(credentials.secret);
    expect(text).not.toMatch(/sha256=[0-9a-f]{64}/);
    expect(text).not.toContain(credentials.privateKey.split("\n")[1]!);
    expect(text).toContain('"x-hub-signature-256":"[redacted]"');
  });
});
