import { getPrivateKey } from "@probot/get-private-key";
import { z } from "zod";
import { modelName } from "./pipeline/config.js";
import { STATUS_DELAY_MS } from "./queue/engine.js";

/**
 * The environment Conveyor reads: Probot's usual variables plus Redis. Validated once at start
 * so a typo is reported by name instead of surfacing as a failure minutes later.
 */
export const Env = z.object({
  REDIS_URL: z.string({ error: "REDIS_URL is not set: run `npm start` (it starts a local Redis) or set REDIS_URL" }).regex(/^rediss?:\/\//, "a redis:// or rediss:// URL"),
  CONVEYOR_PREFIX: z.string().regex(/^[\w-]+$/, "letters, digits, _ and -").default("conveyor"),
  APP_ID: z.string().regex(/^\d+$/, "the numeric App ID from the app's settings page").optional(),
  WEBHOOK_SECRET: z.string().min(1).optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().optional(),
  WEBHOOK_PATH: z.string().startsWith("/").default("/api/github/webhooks"),
  WEBHOOK_PROXY_URL: z.url().optional(),
  GHE_HOST: z.string().optional(),
  GHE_PROTOCOL: z.enum(["http", "https"]).default("https"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /** How long a status update waits so that updates decided meanwhile join it (0: at once). */
  STATUS_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(STATUS_DELAY_MS),
  /** The review model for every angle (`openai:gpt-4o-mini`, `anthropic:…`, `ollama:…`) or `none`; repos may override per angle. */
  CONVEYOR_MODEL: modelName.default("none"),
  /** Angle reviews at once per worker process, and per minute across all workers (0: no limit). */
  REVIEW_CONCURRENCY: z.coerce.number().int().min(1).default(4),
  REVIEW_PER_MINUTE: z.coerce.number().int().min(0).default(0),
  /** Bearer token for the web dashboard (/dashboard); unset, the dashboard is off (404). */
  DASHBOARD_TOKEN: z.string().min(16, "at least 16 characters (e.g. `openssl rand -hex 32`)").optional(),
  /** The GitHub App's OAuth client (Probot's setup writes both): with them, /dashboard/login signs in with GitHub. */
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  /** GitHub logins admitted to the dashboard after GitHub sign-in, comma-separated; empty: nobody. */
  DASHBOARD_USERS: z
    .string()
    .regex(/^\s*[\w-]+(\s*,\s*[\w-]+)*\s*$/, "GitHub logins separated by commas, e.g. `octocat,hubot`")
    .transform((list) => list.split(",").map((login) => login.trim().toLowerCase()))
    .default([]),
  /** The dashboard's public origin (e.g. https://conveyor.example.com) for the OAuth callback behind a proxy. */
  DASHBOARD_URL: z.url({ protocol: /^https?$/ }).optional(),
}).refine((env) => Boolean(env.GITHUB_CLIENT_ID) === Boolean(env.GITHUB_CLIENT_SECRET), {
  message: "set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the app's settings page, \"Client ID\" and \"Generate a new client secret\"), or neither",
  path: ["GITHUB_CLIENT_SECRET"],
});
export type Env = z.infer<typeof Env>;

export interface Settings extends Env {
  privateKey: string | null;
  baseUrl: string;
  /** GitHub's web origin, for links: https://github.com, or the GitHub Enterprise host. */
  webUrl: string;
  /** True when the GitHub App is registered (App ID and private key present). */
  hasCredentials: boolean;
}

export class InvalidEnvironmentError extends Error {
  override name = "InvalidEnvironmentError";
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== "")));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n");
    throw new InvalidEnvironmentError(`conveyor: the environment is invalid:\n${problems}`);
  }
  let privateKey: string | null;
  try {
    privateKey = getPrivateKey({ env: env as Record<string, string | undefined> });
  } catch (error) {
    throw new InvalidEnvironmentError(`conveyor: PRIVATE_KEY / PRIVATE_KEY_PATH: ${(error as Error).message}`);
  }
  const settings = parsed.data;
  return {
    ...settings,
    privateKey,
    baseUrl: settings.GHE_HOST ? `${settings.GHE_PROTOCOL}://${settings.GHE_HOST}/api/v3` : "https://api.github.com",
    webUrl: settings.GHE_HOST ? `${settings.GHE_PROTOCOL}://${settings.GHE_HOST}` : "https://github.com",
    hasCredentials: Boolean(settings.APP_ID && privateKey),
  };
}
