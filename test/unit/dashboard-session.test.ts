// Dashboard sessions (signed cookies) and the dashboard's environment keys.
import { describe, expect, it } from "vitest";
import { Sessions, SESSION_SECONDS } from "../../src/app/dashboard/session.js";
import { InvalidEnvironmentError, readSettings } from "../../src/env.js";

const NOW = Date.parse("2025-01-01T00:00:00Z");

describe("dashboard sessions", () => {
  const sessions = new Sessions(["dashboard-token-0123456789", undefined]);

  it("round-trips a token session and a GitHub user's session", () => {
    expect(sessions.verify(sessions.issue({ kind: "token" }, NOW), NOW)).toEqual({ kind: "token" });
    expect(sessions.verify(sessions.issue({ kind: "github", login: "octocat" }, NOW), NOW + 1000)).toEqual({ kind: "github", login: "octocat" });
  });

  it("refuses an expired session, a changed payload, another key's signature and garbage", () => {
    const value = sessions.issue({ kind: "github", login: "octocat" }, NOW);
    expect(sessions.verify(value, NOW + SESSION_SECONDS * 1000)).toBeNull();
    const [payload, signature] = value.split(".") as [string, string];
    const renamed = Buffer.from(Buffer.from(payload, "base64url").toString().replace("octocat", "mallory")).toString("base64url");
    expect(sessions.verify(`${renamed}.${signature}`, NOW)).toBeNull();
    // Rotating the token (or the OAuth client secret) ends every session.
    expect(new Sessions(["another-token-0123456789", undefined]).verify(value, NOW)).toBeNull();
    for (const junk of ["", ".", "a.b", `${payload}.`, `${payload}.${signature}.x`, "%%%"]) expect(sessions.verify(junk, NOW), junk).toBeNull();
  });

  it("refuses a validly signed payload of a shape it does not issue", () => {
    expect(sessions.verify(sessions.issue({ kind: "admin" } as never, NOW), NOW)).toBeNull();
    expect(sessions.verify(sessions.issue({ kind: "github" } as never, NOW), NOW)).toBeNull();
  });
});

describe("readSettings: dashboard keys", () => {
  const REDIS_URL = "redis://127.0.0.1:6379";
  it("reads DASHBOARD_USERS as lower-case logins and defaults to nobody", () => {
    expect(readSettings({ REDIS_URL }).DASHBOARD_USERS).toEqual([]);
    expect(readSettings({ REDIS_URL, DASHBOARD_USERS: " Octocat, hubot " }).DASHBOARD_USERS).toEqual(["octocat", "hubot"]);
  });

  it("names the key and the fix for a half-configured OAuth client or a malformed list", () => {
    expect(() => readSettings({ REDIS_URL, GITHUB_CLIENT_ID: "Iv1.abc" })).toThrow(InvalidEnvironmentError);
    expect(() => readSettings({ REDIS_URL, GITHUB_CLIENT_ID: "Iv1.abc" })).toThrow(/GITHUB_CLIENT_SECRET: set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET/);
    expect(() => readSettings({ REDIS_URL, DASHBOARD_USERS: "octocat,,hubot" })).toThrow(/DASHBOARD_USERS: GitHub logins separated by commas/);
    expect(() => readSettings({ REDIS_URL, DASHBOARD_URL: "ftp://conveyor.example.com" })).toThrow(/DASHBOARD_URL/);
    expect(readSettings({ REDIS_URL, GITHUB_CLIENT_ID: "Iv1.abc", GITHUB_CLIENT_SECRET: "s" }).GITHUB_CLIENT_SECRET).toBe("s");
  });
});
