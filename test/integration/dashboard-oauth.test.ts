// Signing in to the dashboard with GitHub (the App's OAuth web flow): the authorize redirect with
// a state, the code exchange at github.com/login/oauth (nock) and GET /user (the OpenAPI-checked
// fake), DASHBOARD_USERS deciding who gets in, and what happens without OAuth configured.
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import { events } from "../support/engine.js";
import { fakeGitHub } from "../support/github/fake-github.js";

const CLIENT_ID = "Iv1.0123456789abcdef";
const CLIENT_SECRET = "client-secret-0123456789";
const TOKEN = "dashboard-token-0123456789";
let oauth: TestConveyor;
let tokenOnly: TestConveyor;

beforeAll(async () => {
  [oauth, tokenOnly] = await Promise.all([
    startTestConveyor("web", { GITHUB_CLIENT_ID: CLIENT_ID, GITHUB_CLIENT_SECRET: CLIENT_SECRET, DASHBOARD_USERS: "Octocat, hubot" }),
    startTestConveyor("web", { DASHBOARD_TOKEN: TOKEN }),
  ]);
  const { engine } = oauth.conveyor;
  await engine.submit("501-31", events.labeled(31), { source: "label-31", requiresRun: false });
  await engine.apply("501-31");
});
afterAll(async () => {
  await Promise.all([oauth.stop(), tokenOnly.stop()]);
});

/** Starts a sign-in: the authorize URL GitHub is sent to and the state cookie this browser got. */
async function startSignIn(app: TestConveyor) {
  const response = await fetch(`${app.url}/dashboard/login`, { redirect: "manual" });
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get("location")!);
  const stateCookie = response.headers.get("set-cookie")!;
  return { location, stateCookie, cookie: stateCookie.split(";")[0]! };
}

/** GitHub's answer to the code exchange (it answers errors with 200 and an `error` field). */
function exchange(code: string, reply: Record<string, unknown>) {
  return nock("https://github.com")
    .post("/login/oauth/access_token", (body: Record<string, string>) => body.client_id === CLIENT_ID && body.client_secret === CLIENT_SECRET && body.code === code && body.redirect_uri === `${oauth.url}/dashboard/oauth/callback`)
    .reply(200, reply);
}

const callback = (query: Record<string, string>, cookie?: string) =>
  fetch(`${oauth.url}/dashboard/oauth/callback?${new URLSearchParams(query)}`, { redirect: "manual", headers: cookie ? { cookie } : {} });

describe("dashboard: GitHub sign-in", () => {
  it("sends the browser to GitHub's authorize page with a fresh state in an HttpOnly, Lax cookie", async () => {
    const first = await startSignIn(oauth);
    expect(`${first.location.origin}${first.location.pathname}`).toBe("https://github.com/login/oauth/authorize");
    expect(first.location.searchParams.get("client_id")).toBe(CLIENT_ID);
    expect(first.location.searchParams.get("redirect_uri")).toBe(`${oauth.url}/dashboard/oauth/callback`);
    const state = first.location.searchParams.get("state")!;
    expect(state.length).toBeGreaterThanOrEqual(32);
    expect(first.stateCookie).toBe(`conveyor_oauth_state=${state}; Path=/dashboard/oauth; Max-Age=600; HttpOnly; SameSite=Lax`);
    const second = await startSignIn(oauth);
    expect(second.location.searchParams.get("state")).not.toBe(state);
  });

  it("admits a listed user: exchanges the code, reads the user, sets a signed session cookie", async () => {
    const { location, cookie } = await startSignIn(oauth);
    const github = fakeGitHub();
    const exchanged = exchange("good-code", { access_token: "ghu_user_token", token_type: "bearer", scope: "" });
    github.on("GET /user", {}, (request) => {
      expect(request.headers.authorization).toBe("token ghu_user_token");
      return { status: 200, body: { login: "octocat", id: 1 } };
    });
    const signedIn = await callback({ code: "good-code", state: location.searchParams.get("state")! }, cookie);
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toBe("/dashboard");
    const [session, clearedState] = signedIn.headers.getSetCookie();
    expect(session).toMatch(/^conveyor_dashboard=[\w-]+\.[\w-]+; Path=\/dashboard; Max-Age=43200; HttpOnly; SameSite=Lax$/);
    expect(clearedState).toMatch(/^conveyor_oauth_state=; Path=\/dashboard\/oauth; Max-Age=0/);
    expect(exchanged.isDone()).toBe(true);

    const page = await fetch(`${oauth.url}/dashboard`, { headers: { cookie: session!.split(";")[0]! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("501-31-1");
    const board = await fetch(`${oauth.url}/dashboard/queues/api/queues`, { headers: { cookie: session!.split(";")[0]! } });
    expect(board.status).toBe(200);
  });

  it("refuses a user DASHBOARD_USERS does not list with 403 and no session", async () => {
    const { location, cookie } = await startSignIn(oauth);
    const github = fakeGitHub();
    exchange("code-of-mallory", { access_token: "ghu_mallory", token_type: "bearer", scope: "" });
    github.on("GET /user", {}, { status: 200, body: { login: "mallory", id: 666 } });
    const refused = await callback({ code: "code-of-mallory", state: location.searchParams.get("state")! }, cookie);
    expect(refused.status).toBe(403);
    expect(refused.headers.getSetCookie().some((value) => value.startsWith("conveyor_dashboard="))).toBe(false);
    const body = await refused.text();
    expect(body).toContain("the GitHub user mallory may not use this dashboard: add the login to DASHBOARD_USERS");
    expect(body).not.toContain("501-31");
  });

  it("answers a callback whose state is missing or not this browser's with 401, without asking GitHub", async () => {
    const { location, cookie } = await startSignIn(oauth);
    const state = location.searchParams.get("state")!;
    const exchanged = exchange("c", { access_token: "ghu_should_not_be_asked", token_type: "bearer", scope: "" });
    const cases: Array<[Record<string, string>, string | undefined]> = [
      [{ code: "c", state }, undefined], // no state cookie: the sign-in was started elsewhere
      [{ code: "c", state: `${state}x` }, cookie], // a state this browser was not given
      [{ code: "c" }, cookie], // no state at all
      [{ code: "c", state }, "conveyor_oauth_state="], // empty cookie
    ];
    for (const [query, withCookie] of cases) {
      const response = await callback(query, withCookie);
      expect(response.status, JSON.stringify([query, withCookie])).toBe(401);
      expect(await response.text()).toContain("The sign-in state does not match");
      expect(response.headers.getSetCookie().some((value) => value.startsWith("conveyor_dashboard="))).toBe(false);
    }
    expect(exchanged.isDone()).toBe(false);
  });

  it("answers a code GitHub rejects with 401", async () => {
    const { location, cookie } = await startSignIn(oauth);
    const exchanged = exchange("stale-code", { error: "bad_verification_code", error_description: "The code passed is incorrect or expired.", error_uri: "https://docs.github.com" });
    const response = await callback({ code: "stale-code", state: location.searchParams.get("state")! }, cookie);
    expect(response.status).toBe(401);
    expect(await response.text()).toContain("GitHub did not accept the sign-in code");
    expect(exchanged.isDone()).toBe(true);
  });

  it("accepts no token when only GitHub sign-in is configured", async () => {
    expect((await fetch(`${oauth.url}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
    expect((await fetch(`${oauth.url}/dashboard/login?token=${TOKEN}`, { redirect: "manual" })).status).toBe(401);
    expect((await fetch(`${oauth.url}/dashboard`)).status).toBe(401);
  });

  it("without GITHUB_CLIENT_ID/SECRET, /dashboard/login takes the token only and never redirects to GitHub", async () => {
    const login = await fetch(`${tokenOnly.url}/dashboard/login`, { redirect: "manual" });
    expect(login.status).toBe(401);
    expect(login.headers.get("location")).toBeNull();
    expect((await fetch(`${tokenOnly.url}/dashboard/oauth/callback?code=c&state=s`, { redirect: "manual" })).status).toBe(401);
    expect((await fetch(`${tokenOnly.url}/dashboard/login?token=${TOKEN}`, { redirect: "manual" })).status).toBe(303);
  });
});
