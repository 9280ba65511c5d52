// `conveyor doctor` as a process: Redis, credentials, webhook secret and the app on GitHub
// (a small fake GitHub Enterprise server on loopback, reached through GHE_HOST).
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { appCredentials } from "../support/app-env.js";
import { freePort } from "../support/redis-server.js";
import { runCli } from "./run-cli.js";

let github: Server;
let gheHost: string;
let installations: unknown[] = [];
const seen: string[] = [];

beforeAll(async () => {
  github = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization?.split(" ")[0]}`);
    const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/api/v3/app") return json(200, { id: 12345, slug: "conveyor-test", name: "Conveyor Test" });
    if (req.url?.startsWith("/api/v3/app/installations")) return json(200, installations);
    return json(404, { message: "Not Found" });
  });
  await new Promise<void>((resolve) => github.listen(0, "127.0.0.1", resolve));
  gheHost = `127.0.0.1:${(github.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => github.close(resolve));
});

describe("conveyor doctor", { timeout: 120_000 }, () => {
  it("passes when Redis, the credentials, the secret and an installation are fine", async () => {
    const { appId, privateKey, secret } = appCredentials();
    installations = [{ id: 77, account: { login: "acme" } }];
    const result = await runCli(["doctor"], { REDIS_URL: inject("redisUrl"), APP_ID: appId, PRIVATE_KEY: privateKey, WEBHOOK_SECRET: secret, GHE_HOST: gheHost, GHE_PROTOCOL: "http" });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("✓ redis: redis://127.0.0.1");
    expect(result.stdout).toContain("✓ redis eviction: maxmemory-policy noeviction");
    expect(result.stdout).toContain("! redis persistence: appendonly is off");
    expect(result.stdout).toContain("✓ app credentials: App ID 12345, private key readable");
    expect(result.stdout).toContain("✓ github app: Conveyor Test (conveyor-test)");
    expect(result.stdout).toContain("✓ installations: acme (77)");
    expect(result.stdout).not.toContain(privateKey.split("\n")[1]!);
    expect(seen).toContain("GET /api/v3/app bearer");
  });

  it("says what to fix: no credentials, no secret, unreachable Redis; exit 1; --json for scripts", async () => {
    const port = await freePort();
    const result = await runCli(["doctor", "--json"], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    expect(report.ok).toBe(false);
    const byName = Object.fromEntries(report.checks.map((check) => [check.name, check]));
    expect(byName.redis).toMatchObject({ ok: false, detail: expect.stringContaining(`cannot reach Redis at redis://127.0.0.1:${port}`) });
    expect(byName["app credentials"]).toMatchObject({ ok: false, detail: expect.stringContaining("register the app") });
    expect(byName["webhook secret"]).toMatchObject({ ok: false, detail: expect.stringContaining("WEBHOOK_SECRET is not set") });
    expect(byName["github app"]).toBeUndefined();
  });

  it("reports an app that is installed nowhere, and an invalid environment", async () => {
    const { appId, privateKey, secret } = appCredentials();
    installations = [];
    const [bare, invalid] = await Promise.all([
      runCli(["doctor"], { REDIS_URL: inject("redisUrl"), APP_ID: appId, PRIVATE_KEY: privateKey, WEBHOOK_SECRET: secret, GHE_HOST: gheHost, GHE_PROTOCOL: "http" }),
      runCli(["doctor"], { REDIS_URL: "http://nope" }),
    ]);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toContain("✗ installations: the app is not installed anywhere");
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain("✗ environment:");
    expect(invalid.stdout).toContain("REDIS_URL: a redis:// or rediss:// URL");
  });
});
