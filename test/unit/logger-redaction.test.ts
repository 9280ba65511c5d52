// Secrets never reach the log output: the private key, the webhook secret, tokens and
// Authorization headers are replaced before pino writes a line.
import { generateKeyPairSync } from "node:crypto";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";

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
    log.info({ req: { method: "POST", url: "/api/github/webhooks", headers: { authorization: SECRETS.bearer, "x-hub-signature-256": SECRETS.signature } } }, "request");
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
});
