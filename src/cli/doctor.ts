import { createPrivateKey } from "node:crypto";
import { parseArgs } from "node:util";
import { readSettings, type Settings } from "../env.js";
import { connectRedis, redactUrl } from "../queue/redis.js";
import { passes, type Check } from "./doctor-check.js";
import { checkGitHub } from "./doctor-github.js";
import type { CliIO } from "./runs.js";

export type { Check } from "./doctor-check.js";

export const DOCTOR_USAGE = `Usage: conveyor doctor [--json]

  Checks what Conveyor needs and says what to fix: the environment, Redis (reachable, no
  eviction, persistence), the GitHub App's credentials and webhook secret, and, when the
  credentials are there, the app and its installations on GitHub, and in every repository an
  installation may access: .github/conveyor.yml (each invalid field and what to do about it)
  and the implementer workflow it names (present, enabled, with workflow_dispatch and its inputs).

  --json   one JSON object: { ok, checks: [{ name, ok, detail, warning?, repo?, problems? }] }

Exit codes: 0 every check passed (warnings allowed), 1 something needs fixing, 2 usage.`;

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
  const ok = checks.every(passes);
  if (json) io.out(JSON.stringify({ ok, checks }));
  else for (const check of checks) io.out(renderCheck(check));
  return ok ? 0 : 1;
}

/** A check for people: a mark, its name and detail; continuation lines and problems indented under it. */
export function renderCheck(check: Check): string {
  const indent = (text: string, by: string) => text.replace(/\n(?=.)/g, `\n${by}`);
  const lines = [`${check.warning ? "!" : check.ok ? "✓" : "✗"} ${check.name}: ${indent(check.detail, "    ")}`];
  for (const problem of check.problems ?? []) lines.push(`    ${problem.message}`, `      → ${problem.fix}`);
  return lines.join("\n");
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
