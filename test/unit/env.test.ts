// readSettings: the process environment, validated once at start.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InvalidEnvironmentError, readSettings } from "../../src/env.js";

const REDIS_URL = "redis://127.0.0.1:6379";

const { privateKey: PEM } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "pkcs1", format: "pem" },
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
});

// With neither PRIVATE_KEY nor PRIVATE_KEY_PATH, Probot's key lookup reads any *.pem in the
// working directory: point it at an empty directory so results never depend on the checkout.
const workdir = mkdtempSync(join(tmpdir(), "conveyor-env-test-"));
beforeEach(() => {
  vi.spyOn(process, "cwd").mockReturnValue(workdir);
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => {
  rmSync(workdir, { recursive: true, force: true });
});

/** The InvalidEnvironmentError readSettings throws for `env`. */
function failureOf(env: NodeJS.ProcessEnv): InvalidEnvironmentError {
  try {
    readSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    return error as InvalidEnvironmentError;
  }
  throw new Error(`readSettings accepted ${JSON.stringify(env)}`);
}

describe("readSettings: REDIS_URL", () => {
  it("missing → InvalidEnvironmentError naming REDIS_URL and how to fix it", () => {
    const error = failureOf({});
    expect(error.name).toBe("InvalidEnvironmentError");
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/^conveyor: the environment is invalid:/);
    expect(error.message).toContain("REDIS_URL: REDIS_URL is not set");
    expect(error.message).toContain("npm start");
  });

  it("empty counts as missing", () => {
    expect(failureOf({ REDIS_URL: "" }).message).toContain("REDIS_URL is not set");
  });

  it.each(["http://localhost:6379", "localhost:6379", "127.0.0.1"])("%j is not a redis URL", (url) => {
    expect(failureOf({ REDIS_URL: url }).message).toContain("REDIS_URL: a redis:// or rediss:// URL");
  });

  it.each(["redis://localhost:6379", "rediss://user:pw@cache.example:6380/2"])("%j is accepted as is", (url) => {
    expect(readSettings({ REDIS_URL: url }).REDIS_URL).toBe(url);
  });

  it("names every invalid variable at once", () => {
    const { message } = failureOf({ PORT: "nope", LOG_LEVEL: "loud" } as unknown as NodeJS.ProcessEnv);
    expect(message).toContain("REDIS_URL:");
    expect(message).toContain("PORT:");
    expect(message).toContain("LOG_LEVEL:");
  });
});

describe("readSettings: defaults", () => {
  it("only REDIS_URL set → every default, no credentials, github.com", () => {
    const settings = readSettings({ REDIS_URL });
    expect(settings).toMatchObject({
      REDIS_URL,
      CONVEYOR_PREFIX: "conveyor",
      PORT: 3000,
      WEBHOOK_PATH: "/api/github/webhooks",
      GHE_PROTOCOL: "https",
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: 30_000,
      privateKey: null,
      baseUrl: "https://api.github.com",
      hasCredentials: false,
    });
    expect(settings.APP_ID).toBeUndefined();
    expect(settings.WEBHOOK_SECRET).toBeUndefined();
  });

  it("ignores variables it does not know", () => {
    expect(readSettings({ REDIS_URL, HOME: "/root", SOMETHING_ELSE: "x" })).not.toHaveProperty("SOMETHING_ELSE");
  });
});

describe("readSettings: PORT", () => {
  it.each([
    ["8080", 8080],
    ["1", 1],
    ["65535", 65535],
  ])("%j → %i", (port, expected) => {
    expect(readSettings({ REDIS_URL, PORT: port }).PORT).toBe(expected);
  });

  it.each([
    ["abc", "PORT: Invalid input"],
    ["0", "PORT: Too small"],
    ["65536", "PORT: Too big"],
    ["80.5", "PORT: Invalid input"],
    ["-1", "PORT: Too small"],
  ])("%j is refused (%s)", (port, problem) => {
    expect(failureOf({ REDIS_URL, PORT: port }).message).toContain(problem);
  });

  it("empty PORT → the default", () => {
    expect(readSettings({ REDIS_URL, PORT: "" }).PORT).toBe(3000);
  });
});

describe("readSettings: other variables", () => {
  it.each([
    ["APP_ID", "app-one"],
    ["CONVEYOR_PREFIX", "has space"],
    ["WEBHOOK_PATH", "api/github/webhooks"],
    ["WEBHOOK_PROXY_URL", "not a url"],
    ["GHE_PROTOCOL", "ftp"],
    ["LOG_LEVEL", "verbose"],
    ["SHUTDOWN_TIMEOUT_MS", "-5"],
  ])("a bad %s is refused by name", (name, value) => {
    expect(failureOf({ REDIS_URL, [name]: value } as unknown as NodeJS.ProcessEnv).message).toContain(`  ${name}: `);
  });

  it("reads the values it validates", () => {
    const settings = readSettings({
      REDIS_URL,
      CONVEYOR_PREFIX: "conveyor-test_1",
      WEBHOOK_SECRET: "s3cret",
      WEBHOOK_PATH: "/hooks",
      WEBHOOK_PROXY_URL: "https://smee.io/abc",
      LOG_LEVEL: "silent",
      SHUTDOWN_TIMEOUT_MS: "0",
      HOST: "0.0.0.0",
    });
    expect(settings).toMatchObject({
      CONVEYOR_PREFIX: "conveyor-test_1",
      WEBHOOK_SECRET: "s3cret",
      WEBHOOK_PATH: "/hooks",
      WEBHOOK_PROXY_URL: "https://smee.io/abc",
      LOG_LEVEL: "silent",
      SHUTDOWN_TIMEOUT_MS: 0,
      HOST: "0.0.0.0",
    });
  });
});

describe("readSettings: credentials", () => {
  it("neither APP_ID nor PRIVATE_KEY → no credentials", () => {
    expect(readSettings({ REDIS_URL })).toMatchObject({ privateKey: null, hasCredentials: false });
  });

  it("APP_ID without a key → no credentials", () => {
    expect(readSettings({ REDIS_URL, APP_ID: "12345" })).toMatchObject({ APP_ID: "12345", privateKey: null, hasCredentials: false });
  });

  it("a key without APP_ID → the key, but no credentials", () => {
    expect(readSettings({ REDIS_URL, PRIVATE_KEY: PEM })).toMatchObject({ privateKey: PEM, hasCredentials: false });
  });

  it("APP_ID and PRIVATE_KEY → credentials", () => {
    expect(readSettings({ REDIS_URL, APP_ID: "12345", PRIVATE_KEY: PEM })).toMatchObject({ APP_ID: "12345", privateKey: PEM, hasCredentials: true });
  });

  it("a key with escaped newlines (as in a .env file) is unescaped", () => {
    const settings = readSettings({ REDIS_URL, APP_ID: "12345", PRIVATE_KEY: PEM.replace(/\n/g, "\\n") });
    expect(settings.privateKey).toBe(PEM);
    expect(settings.hasCredentials).toBe(true);
  });

  it("APP_ID and PRIVATE_KEY_PATH → credentials, read from the file", () => {
    const file = join(workdir, "key-by-path.txt");
    writeFileSync(file, PEM);
    expect(readSettings({ REDIS_URL, APP_ID: "12345", PRIVATE_KEY_PATH: file })).toMatchObject({ privateKey: PEM, hasCredentials: true });
  });

  it("a PRIVATE_KEY that is not a key → InvalidEnvironmentError naming PRIVATE_KEY", () => {
    expect(failureOf({ REDIS_URL, APP_ID: "12345", PRIVATE_KEY: "not a key" }).message).toMatch(/^conveyor: PRIVATE_KEY \/ PRIVATE_KEY_PATH: /);
  });

  it("a PRIVATE_KEY_PATH that does not exist → InvalidEnvironmentError naming the path", () => {
    const missing = join(workdir, "missing.pem");
    const { message } = failureOf({ REDIS_URL, APP_ID: "12345", PRIVATE_KEY_PATH: missing });
    expect(message).toMatch(/^conveyor: PRIVATE_KEY \/ PRIVATE_KEY_PATH: /);
    expect(message).toContain(missing);
  });

  it("with no key variable, the one *.pem in the working directory is used (Probot's lookup)", () => {
    const dir = mkdtempSync(join(workdir, "with-pem-"));
    writeFileSync(join(dir, "my-app.2024-05-01.private-key.pem"), PEM);
    vi.spyOn(process, "cwd").mockReturnValue(dir);
    expect(readSettings({ REDIS_URL, APP_ID: "12345" })).toMatchObject({ privateKey: PEM, hasCredentials: true });
  });

  it("empty APP_ID and PRIVATE_KEY are unset", () => {
    expect(readSettings({ REDIS_URL, APP_ID: "", PRIVATE_KEY: "", PRIVATE_KEY_PATH: "" })).toMatchObject({ privateKey: null, hasCredentials: false });
    expect(readSettings({ REDIS_URL, APP_ID: "", PRIVATE_KEY: PEM }).hasCredentials).toBe(false);
  });
});

describe("readSettings: GitHub Enterprise", () => {
  it("GHE_HOST → https://<host>/api/v3, and links to https://<host>", () => {
    expect(readSettings({ REDIS_URL, GHE_HOST: "ghe.example" })).toMatchObject({ baseUrl: "https://ghe.example/api/v3", webUrl: "https://ghe.example" });
    expect(readSettings({ REDIS_URL }).webUrl).toBe("https://github.com");
  });

  it("GHE_PROTOCOL http → http://<host>/api/v3", () => {
    expect(readSettings({ REDIS_URL, GHE_HOST: "ghe.example:8080", GHE_PROTOCOL: "http" }).baseUrl).toBe("http://ghe.example:8080/api/v3");
  });

  it("GHE_PROTOCOL without GHE_HOST → still github.com", () => {
    expect(readSettings({ REDIS_URL, GHE_PROTOCOL: "http" }).baseUrl).toBe("https://api.github.com");
  });

  it("empty GHE_HOST and GHE_PROTOCOL are unset", () => {
    expect(readSettings({ REDIS_URL, GHE_HOST: "", GHE_PROTOCOL: "" })).toMatchObject({ baseUrl: "https://api.github.com", GHE_PROTOCOL: "https" });
    expect(readSettings({ REDIS_URL, GHE_HOST: "ghe.example", GHE_PROTOCOL: "" }).baseUrl).toBe("https://ghe.example/api/v3");
  });
});
