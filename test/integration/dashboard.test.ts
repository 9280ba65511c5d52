// The web dashboard over HTTP: auth, runs list, run page, actions with refusals, live updates (SSE),
// and BullMQ's queue board behind the same auth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOARD_QUEUES } from "../../src/app/dashboard/queue-board.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import { events } from "../support/engine.js";

const TOKEN = "dashboard-token-0123456789";
let app: TestConveyor;
let off: TestConveyor;
const KEY = "501-21";
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  [app, off] = await Promise.all([startTestConveyor("web", { DASHBOARD_TOKEN: TOKEN }), startTestConveyor("web")]);
  const { engine } = app.conveyor;
  await engine.submit(KEY, events.labeled(21), { source: "label-21", requiresRun: false });
  await engine.apply(KEY);
  await engine.submit(KEY, events.configLoaded(), { source: "config-21", requiresRun: true });
  await engine.apply(KEY);
});
afterAll(async () => {
  await Promise.all([app.stop(), off.stop()]);
});

describe("dashboard", () => {
  it("does not exist without DASHBOARD_TOKEN (404), and answers a missing or wrong token with 401, leaking nothing", async () => {
    expect((await fetch(`${off.url}/dashboard`, { headers: auth })).status).toBe(404);
    for (const headers of [{}, { authorization: "Bearer wrong-token-0123456789" }, { cookie: "conveyor_dashboard=nope" }] as Record<string, string>[]) {
      for (const path of ["/dashboard", "/dashboard/runs/501-21-1", "/dashboard/runs/501-21-1/events"]) {
        const response = await fetch(`${app.url}${path}`, { headers });
        expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        const body = await response.text();
        expect(body).not.toContain("501-21");
        expect(body).not.toContain("acme");
      }
    }
    const post = await fetch(`${app.url}/dashboard/runs/501-21-1/actions/cancel`, { method: "POST" });
    expect(post.status).toBe(401);
    expect((await app.conveyor.engine.store.load(KEY)).run?.state).toBe("active");
    expect((await fetch(`${app.url}/dashboard/login?token=wrong`, { redirect: "manual" })).status).toBe(401);
  });

  it("logs in through a cookie and lists runs, filtered by state and repo", async () => {
    const login = await fetch(`${app.url}/dashboard/login?token=${TOKEN}`, { redirect: "manual" });
    expect(login.status).toBe(303);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const list = await fetch(`${app.url}/dashboard`, { headers: { cookie } });
    expect(list.status).toBe(200);
    const html = await list.text();
    expect(html).toContain('<a href="/dashboard/runs/501-21-1">501-21-1</a>');
    expect(html).toContain("acme/widgets");
    expect(html).toContain("implement");
    expect(await (await fetch(`${app.url}/dashboard?state=paused`, { headers: auth })).text()).not.toContain("501-21-1");
    expect(await (await fetch(`${app.url}/dashboard?repo=acme/other`, { headers: auth })).text()).not.toContain("501-21-1");
  });

  it("shows a run with its timeline and links, and a 404 page for a run that does not exist", async () => {
    const page = await fetch(`${app.url}/dashboard/runs/501-21-1`, { headers: auth });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Run 501-21-1: acme/widgets#21 Add a widget");
    expect(html).toContain("✓ issue.labeled");
    expect(html).toContain("✓ config.loaded");
    expect(html).toContain('href="https://github.com/acme/widgets/issues/21"');
    expect(html).toContain("new EventSource");
    const missing = await fetch(`${app.url}/dashboard/runs/501-999-1`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("There is no run <code>501-999-1</code>");
  });

  it("applies an action and shows a refusal, and streams the change to an open run page (SSE)", async () => {
    const controller = new AbortController();
    const sse = await fetch(`${app.url}/dashboard/runs/501-21-1/events`, { headers: auth, signal: controller.signal });
    expect(sse.headers.get("content-type")).toBe("text/event-stream");
    const reader = sse.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const nextUpdate = async (): Promise<{ state: string; timeline: string }> => {
      for (;;) {
        const boundary = buffered.indexOf("\n\n");
        if (boundary >= 0) {
          const message = buffered.slice(0, boundary);
          buffered = buffered.slice(boundary + 2);
          const data = /^event: update\ndata: (.*)$/m.exec(message);
          if (data) return JSON.parse(data[1]!);
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffered += decoder.decode(value, { stream: true });
      }
    };
    expect((await nextUpdate()).state).toBe("active");

    const resume = await fetch(`${app.url}/dashboard/runs/501-21-1/actions/resume`, { method: "POST", headers: { ...auth, accept: "application/json" } });
    expect(resume.status).toBe(409);
    expect(await resume.json()).toEqual({ status: "refused", reason: "the run is active, not paused" });

    const pause = await fetch(`${app.url}/dashboard/runs/501-21-1/actions/pause`, { method: "POST", headers: auth, redirect: "manual" });
    expect(pause.status).toBe(303);
    const notice = await fetch(new URL(pause.headers.get("location")!, app.url), { headers: auth });
    expect(await notice.text()).toContain("pause: done: pause by operator dashboard: active → paused");

    let update = await nextUpdate();
    while (update.state !== "paused") update = await nextUpdate();
    expect(update.timeline).toContain("operator.command");
    controller.abort();

    const refusedPage = await fetch(`${app.url}/dashboard/runs/501-21-1/actions/retry`, { method: "POST", headers: auth, redirect: "manual" });
    const shown = await (await fetch(new URL(refusedPage.headers.get("location")!, app.url), { headers: auth })).text();
    expect(shown).toContain("retry: refused: the run is paused; retry is for parked or failed runs");
    const crossSite = await fetch(`${app.url}/dashboard/runs/501-21-1/actions/cancel`, { method: "POST", headers: { ...auth, origin: "https://evil.example" } });
    expect(crossSite.status).toBe(403);
    expect((await app.conveyor.engine.store.load(KEY)).run?.state).toBe("paused");
  });
});

/** Queue names as they would appear in a leaked page or JSON body. */
const QUEUE_NAMES = BOARD_QUEUES.map((queue) => queue.name);

describe("queue board", () => {
  it("answers 401 without credentials, with a wrong token or a forged cookie, naming no queue", async () => {
    const forged = `conveyor_dashboard=${Buffer.from(JSON.stringify({ kind: "token", exp: 4e9 })).toString("base64url")}.AAAA`;
    for (const headers of [{}, { authorization: "Bearer wrong-token-0123456789" }, { cookie: forged }] as Record<string, string>[]) {
      for (const path of ["/dashboard/queues", "/dashboard/queues/", "/dashboard/queues/api/queues", "/dashboard/queues/queue/events", "/dashboard/queues/static/images/logo.svg"]) {
        const response = await fetch(`${app.url}${path}`, { headers });
        expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        const body = await response.text();
        for (const name of QUEUE_NAMES) expect(body, `${path} leaks ${name}`).not.toMatch(new RegExp(`\\b${name}\\b`));
      }
    }
    expect((await fetch(`${off.url}/dashboard/queues/api/queues`, { headers: auth })).status).toBe(404);
  });

  it("serves bull-board's page and its assets from node_modules, and lists every Conveyor queue", async () => {
    const page = await fetch(`${app.url}/dashboard/queues`, { headers: auth });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<base href="/dashboard/queues/" />');
    expect(html).toContain("<title>Conveyor queues</title>");
    const scripts = [...html.matchAll(/<script defer src="([^"]+)"/g)].map((match) => match[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      const asset = await fetch(new URL(src, `${app.url}/dashboard/queues/`), { headers: auth });
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get("content-type")).toMatch(/javascript/);
    }
    const api = await fetch(`${app.url}/dashboard/queues/api/queues`, { headers: auth });
    expect(api.status).toBe(200);
    const { queues } = (await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(queues.map((queue) => queue.name).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(queues.every((queue) => queue.readOnlyMode)).toBe(true);
    expect((await fetch(`${app.url}/dashboard/queues/no/such/page`, { headers: auth })).status).toBe(404);
  });

  it("is read-only: pausing a queue from the board is refused and the queue keeps running", async () => {
    const pause = await fetch(`${app.url}/dashboard/queues/api/queues/effects/pause`, { method: "PUT", headers: auth });
    expect(pause.status).toBe(405);
    expect(await app.conveyor.engine.queues.effects.isPaused()).toBe(false);
    const crossSite = await fetch(`${app.url}/dashboard/queues/api/queues/effects/pause`, { method: "PUT", headers: { ...auth, origin: "https://evil.example" } });
    expect(crossSite.status).toBe(403);
  });

  it("accepts the session cookie from a token login, not once it is tampered with, and signs out", async () => {
    const login = await fetch(`${app.url}/dashboard/login?token=${TOKEN}`, { redirect: "manual" });
    const setCookie = login.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(";")[0]!;
    expect((await fetch(`${app.url}/dashboard/queues/api/queues`, { headers: { cookie } })).status).toBe(200);
    // A longer session with the old signature: refused.
    const [name, value] = cookie.split("=") as [string, string];
    const [payload, signature] = decodeURIComponent(value).split(".") as [string, string];
    const extended = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), exp: 4e9 })).toString("base64url");
    expect((await fetch(`${app.url}/dashboard/queues/api/queues`, { headers: { cookie: `${name}=${extended}.${signature}` } })).status).toBe(401);
    const behindTls = await fetch(`${app.url}/dashboard/login?token=${TOKEN}`, { redirect: "manual", headers: { "x-forwarded-proto": "https" } });
    expect(behindTls.headers.get("set-cookie")).toMatch(/; Secure/);
    const logout = await fetch(`${app.url}/dashboard/logout`, { headers: { cookie } });
    expect(logout.headers.get("set-cookie")).toMatch(/^conveyor_dashboard=; Path=\/dashboard; Max-Age=0/);
  });
});
