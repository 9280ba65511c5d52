// Secrets never reach the log output: the private key, the webhook secret, tokens and
// Authorization headers are replaced before pino writes a line.
import { generateKeyPairSync } from "node:crypto";
import { Writable } from "node:stream";
import { RequestError } from "@octokit/request-error";
import { describe, expect, it } from "vitest";
import { createLogger, runLogger, scrubSecrets } from "../../src/logger.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, log: createLogger("trace", stream) };
}

const privateKey = generateKeyPairSync("rsa", { modulusLength: 1024, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
const SECRETS = {
  privateKey,
  webhookSecret: "whsec-6f1c0b1e-secret",
  installationToken: "ghs_0123456789abcdefghijklmnopqrstuvwxyzAB",
  bearer: "Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789",
  signature: "sha256=5f4dcc3b5aa765d61d8327deb882cf99aa765d61d8327deb882cf99",
  signatureSha1: "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
  llmKey: "sk-proj-DEADBEEFdeadbeef0123456789",
  cookie: "conveyor_dashboard=dash-token-123",
};

describe("log redaction", () => {
  it("keeps the private key, webhook secret, tokens, signatures and Authorization headers out of every line", () => {
    const { lines, log } = capture();
    log.info({ privateKey: SECRETS.privateKey }, "app credentials");
    log.info({ app: { privateKey: SECRETS.privateKey, secret: SECRETS.webhookSecret } }, "probot options");
    log.info({ secret: SECRETS.webhookSecret }, "webhooks");
    log.info({ token: SECRETS.installationToken, auth: { token: SECRETS.installationToken } }, "installation token");
    log.info({ accessToken: SECRETS.installationToken, apiKey: SECRETS.llmKey }, "client");
    log.info({ headers: { authorization: SECRETS.bearer, Authorization: SECRETS.bearer, cookie: SECRETS.cookie } }, "outgoing request");
    log.info({ req: { method: "POST", url: "/api/github/webhooks", headers: { authorization: SECRETS.bearer, "x-hub-signature-256": SECRETS.signature, "x-hub-signature": SECRETS.signatureSha1 } } }, "request");
    log.warn({ err: { message: "Bad credentials", request: { headers: { authorization: SECRETS.bearer } } } }, "github error");
    log.info({ env: { PRIVATE_KEY: SECRETS.privateKey, WEBHOOK_SECRET: SECRETS.webhookSecret, OPENAI_API_KEY: SECRETS.llmKey, ANTHROPIC_API_KEY: SECRETS.llmKey, DASHBOARD_TOKEN: "dash-token-123", REDIS_URL: "redis://127.0.0.1:6390" } }, "settings");
    log.child({ runId: "1-2-1" }).info({ effect: { token: SECRETS.installationToken } }, "child logger");

    const output = lines.join("");
    expect(lines).toHaveLength(10);
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(output, `${name} leaked`).not.toContain(value);
    }
    expect(output).not.toContain("BEGIN RSA PRIVATE KEY");
    expect(output).not.toContain("ghs_");
    expect(output).not.toContain("dash-token-123");
    expect(output).toContain("[redacted]");
    // What is not secret still gets through, so the lines stay useful.
    expect(output).toContain("redis://127.0.0.1:6390");
    expect(output).toContain('"runId":"1-2-1"');
    expect(output).toContain("Bad credentials");
  });

  it("scrubs credentials from URLs in messages and request lines: the dashboard's login token, OAuth codes, URL passwords", () => {
    const { lines, log } = capture();
    const token = "dash-token-0123456789abcdef";
    // Probot's HTTP log: the URL in the message and in req.url (a child binding, as pino-http writes it).
    log.child({ name: "http", req: { method: "GET", url: `/dashboard/login?token=${token}&next=%2Fdashboard` } }).info(`GET /dashboard/login?token=${token}&next=%2Fdashboard 302 - 3ms`);
    log.info({ req: { url: "/dashboard/github/callback?code=4c1a9e8f00d1&state=abc" } }, "GET /dashboard/github/callback?code=4c1a9e8f00d1&state=abc 302 - 9ms");
    log.warn("redis: cannot reach redis://default:s3cr3t-pa55@redis.internal:6379/0, retrying");
    log.warn("%s failed", "GET https://ghe.example.com/api/v3/app?access_token=ghs_legacy123");

    const output = lines.join("");
    for (const secret of [token, "4c1a9e8f00d1", "s3cr3t-pa55", "ghs_legacy123"]) expect(output).not.toContain(secret);
    const [login, callback, redis, legacy] = lines.map((line) => JSON.parse(line) as { msg: string; req?: { url: string } });
    expect(login!.msg).toBe("GET /dashboard/login?token=[redacted]&next=%2Fdashboard 302 - 3ms");
    expect(login!.req!.url).toBe("/dashboard/login?token=[redacted]&next=%2Fdashboard");
    expect(callback!.req!.url).toBe("/dashboard/github/callback?code=[redacted]&state=abc");
    expect(redis!.msg).toBe("redis: cannot reach redis://default:[redacted]@redis.internal:6379/0, retrying");
    expect(legacy!.msg).toBe("GET https://ghe.example.com/api/v3/app?access_token=[redacted] failed");
    // What carries no credential is left alone.
    expect(scrubSecrets("GET /dashboard/runs?state=active&repo=acme%2Fwidgets 200")).toBe("GET /dashboard/runs?state=active&repo=acme%2Fwidgets 200");
    expect(scrubSecrets("redis://127.0.0.1:6390")).toBe("redis://127.0.0.1:6390");
  });

  it("keeps the token out of an Octokit RequestError logged as err", () => {
    const { lines, log } = capture();
    const error = new RequestError("Bad credentials", 401, {
      request: { method: "GET", url: "https://api.github.com/app", headers: { authorization: `token ${SECRETS.installationToken}` } },
      response: { status: 401, url: "https://api.github.com/app", headers: {}, data: { message: "Bad credentials" } },
    });
    runLogger(log, { id: "7-3-1", stage: "implement", round: 1 }).error({ err: error }, "effect failed");
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(lines[0]).not.toContain(SECRETS.installationToken);
    expect(line).toMatchObject({ runId: "7-3-1", stage: "implement", round: 1, err: { status: 401, message: "Bad credentials" } });
  });
});
