import { generateKeyPairSync, randomUUID } from "node:crypto";
import { freePort } from "./redis-server.js";

/** Credentials of a made-up GitHub App: a real RSA key so Probot runs in app mode. */
export function appCredentials() {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { appId: "12345", privateKey, secret: `secret-${randomUUID()}` };
}

export async function appEnv(redisUrl: string, credentials = appCredentials(), extra: Record<string, string> = {}) {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    REDIS_URL: redisUrl,
    APP_ID: credentials.appId,
    PRIVATE_KEY: credentials.privateKey,
    WEBHOOK_SECRET: credentials.secret,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    CONVEYOR_PREFIX: `t${randomUUID().slice(0, 8)}`,
    // Status updates render at once, so tests see every step's status; the delay that joins
    // updates has tests of its own (engine-compaction, "status updates").
    STATUS_DELAY_MS: "0",
    ...extra,
  };
  return { env, port, credentials, url: `http://127.0.0.1:${port}` };
}
