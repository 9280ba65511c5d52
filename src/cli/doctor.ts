import { createPrivateKey } from "node:crypto";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { readSettings, type Settings } from "../env.js";
import { connectRedis, redactUrl } from "../queue/redis.js";
import type { CliIO } from "./runs.js";

export const DOCTOR_USAGE = `Usage: conveyor doctor [--json]

  Checks what Conveyor needs and says what to fix: the environment, Redis (reachable, no
  eviction, persistence), the GitHub App's credentials and webhook secret, and, when the
  credentials are there, the app and its installations on GitHub.

Exit codes: 0 every check passed, 1 something needs fixing, 2 usage.`;

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, or what to fix. */
  detail: string;
  /** A warning: worth fixing, but Conveyor runs. */
  warning?: boolean;
}

export async function doctorCommand(argv: string[], io: CliIO): Promise<number> {
  let json = false;
  try {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } } });
    if (values.help) {
      io.out(DOCTOR_USAGE);
      return 0;
    }
    json = values.json;
  } catch (error) {
    io.err(`conveyor doctor: ${(error as Error).message}\n\n${DOCTOR_USAGE}`);
    return 2;
  }
  const checks = await diagnose(io.env);
  if (json) io.out(JSON.stringify({ ok: checks.every((check) => check.ok || check.warning), checks }));
  else for (const check of checks) io.out(`${check.warning ? "!" : check.ok ? "✓" : "✗"} ${check.name}: ${check.detail}`);
  return checks.every((check) => check.ok || check.warning) ? 0 : 1;
}

export async function diagnose(env: NodeJS.ProcessEnv): Promise<Check[]> {
  const checks: Check[] = [];
  let settings: Settings;
  try {
    settings = readSettings(env);
    checks.push({ name: "environment", ok: true, detail: "valid" });
  } catch (error) {
    checks.push({ name: "environment", ok: false, detail: (error as Error).message.replace(/^conveyor: /, "") });
    return checks;
  }
  checks.push(...(await checkRedis(settings.REDIS_URL)));
  checks.push(checkCredentials(settings));
  checks.push(
    settings.WEBHOOK_SECRET
      ? { name: "webhook secret", ok: true, detail: `set (${settings.WEBHOOK_SECRET.length} characters)${settings.WEBHOOK_SECRET.length < 16 ? "; a longer random secret is safer" : ""}` }
      : { name: "webhook secret", ok: false, detail: "WEBHOOK_SECRET is not set: set it to the secret in the app's settings, or deliveries cannot be verified" },
  );
  if (settings.hasCredentials) checks.push(...(await checkGitHub(settings)));
  return checks;
}

async function checkRedis(url: string): Promise<Check[]> {
  let redis;
  try {
    redis = await connectRedis(url);
  } catch (error) {
    return [{ name: "redis", ok: false, detail: (error as Error).message.replace(/^conveyor: /, "") }];
  }
  try {
    const started = performance.now();
    await redis.ping();
    const checks: Check[] = [{ name: "redis", ok: true, detail: `${redactUrl(url)} answers (${(performance.now() - started).toFixed(1)} ms)` }];
    try {
      const [, policy] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
      const [, aof] = (await redis.config("GET", "appendonly")) as [string, string];
      checks.push(
        policy === "noeviction"
          ? { name: "redis eviction", ok: true, detail: "maxmemory-policy noeviction" }
          : { name: "redis eviction", ok: false, detail: `maxmemory-policy is ${policy}: set it to noeviction (BullMQ's locks and Conveyor's runs must never be evicted)` },
        aof === "yes"
          ? { name: "redis persistence", ok: true, detail: "AOF on" }
          : { name: "redis persistence", ok: true, warning: true, detail: "appendonly is off: runs survive a Redis restart only with AOF (appendonly yes, appendfsync everysec)" },
      );
    } catch {
      checks.push({ name: "redis config", ok: true, warning: true, detail: "CONFIG GET is not allowed here (managed Redis?): make sure eviction is off and persistence on" });
    }
    return checks;
  } finally {
    redis.disconnect();
  }
}

function checkCredentials(settings: Settings): Check {
  if (!settings.APP_ID && !settings.privateKey) return { name: "app credentials", ok: false, detail: "APP_ID and PRIVATE_KEY are not set: run `npm start` and register the app (Probot's setup page writes them to .env)" };
  if (!settings.APP_ID) return { name: "app credentials", ok: false, detail: "APP_ID is not set: copy the App ID from the app's settings page" };
  if (!settings.privateKey) return { name: "app credentials", ok: false, detail: "PRIVATE_KEY (or PRIVATE_KEY_PATH) is not set: generate a private key in the app's settings" };
  try {
    createPrivateKey(settings.privateKey);
  } catch (error) {
    return { name: "app credentials", ok: false, detail: `PRIVATE_KEY is not a usable private key (${(error as Error).message}): paste the whole .pem, or use PRIVATE_KEY_PATH` };
  }
  return { name: "app credentials", ok: true, detail: `App ID ${settings.APP_ID}, private key readable` };
}

async function checkGitHub(settings: Settings): Promise<Check[]> {
  const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } }));
  const probot = new Probot({ appId: settings.APP_ID, privateKey: settings.privateKey!, baseUrl: settings.baseUrl, log: pino({ level: "silent" }), Octokit });
  try {
    const octokit = await probot.auth();
    const { data: app } = await octokit.request("GET /app");
    const checks: Check[] = [{ name: "github app", ok: true, detail: `${app?.name ?? "?"} (${app?.slug ?? "?"}) on ${settings.baseUrl}` }];
    const installations = (await octokit.paginate("GET /app/installations", { per_page: 100 })) as { id: number; account: { login?: string } | null }[];
    checks.push(
      installations.length
        ? { name: "installations", ok: true, detail: installations.map((installation) => `${installation.account?.login ?? "?"} (${installation.id})`).join(", ") }
        : { name: "installations", ok: false, detail: `the app is not installed anywhere: install it on a repository from its page (https://github.com/apps/${app?.slug ?? "<slug>"})` },
    );
    return checks;
  } catch (error) {
    const status = (error as { status?: number }).status;
    const hint = status === 401 ? ": APP_ID and PRIVATE_KEY do not belong together, or the key was revoked" : status === 404 ? ": no such app (check APP_ID and GHE_HOST)" : "";
    return [{ name: "github app", ok: false, detail: `GET /app failed (${(error as Error).message})${hint}` }];
  }
}
