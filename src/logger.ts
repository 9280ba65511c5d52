import { pino, type Logger } from "pino";
import type { Run } from "./pipeline/run.js";

/** Paths that may carry secrets; pino replaces their values before a line is written. */
export const REDACT_PATHS = [
  "privateKey",
  "*.privateKey",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "headers.authorization",
  "*.headers.authorization",
  "req.headers['x-hub-signature-256']",
  "req.headers['x-hub-signature']",
  "env.PRIVATE_KEY",
  "env.WEBHOOK_SECRET",
  "headers.Authorization",
  "*.headers.Authorization",
  "headers.cookie",
  "*.headers.cookie",
  "*.request.headers.authorization",
  "accessToken",
  "*.accessToken",
  "apiKey",
  "*.apiKey",
  "env.OPENAI_API_KEY",
  "env.ANTHROPIC_API_KEY",
  "env.DASHBOARD_TOKEN",
  // Not secret as a whole, but may hold one (below): scrubbed rather than replaced.
  "req.url",
];

/** Query parameters that carry credentials: the dashboard's one-time login link, OAuth codes. */
const SECRET_QUERY = /([?&](?:token|access_token|code|client_secret)=)[^&#\s]*/gi;
/** A password in a URL (`redis://:password@host`, `https://user:password@host`): group 1 is what precedes it. */
export const URL_PASSWORD = /(\b[a-z][\w+.-]*:\/\/[^:/?#\s@]*:)[^@\s/]+@/gi;

/** Text with the credentials a URL may carry replaced: the request line Probot's HTTP log writes, for one. */
export function scrubSecrets(text: string): string {
  return text.replace(SECRET_QUERY, "$1[redacted]").replace(URL_PASSWORD, "$1[redacted]@");
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: "conveyor",
    level,
    redact: { paths: REDACT_PATHS, censor: (value: unknown, path: string[]) => (path.at(-1) === "url" && typeof value === "string" ? scrubSecrets(value) : "[redacted]") },
    hooks: {
      // Messages are text the paths above cannot reach (Probot's "GET /dashboard/login?token=… 302").
      logMethod(args, method) {
        method.apply(this, args.map((arg: unknown) => (typeof arg === "string" ? scrubSecrets(arg) : arg)) as Parameters<typeof method>);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** What every line of a run's work carries, so that one query finds the run's whole story. */
export function runBindings(run: Pick<Run, "id" | "stage" | "round">, deliveryId?: string): { runId: string; stage: Run["stage"]; round: number; deliveryId?: string } {
  return { runId: run.id, stage: run.stage, round: run.round, ...(deliveryId ? { deliveryId } : {}) };
}

/** A child logger for work on one run (and the delivery that caused it, when one did). */
export function runLogger(log: Logger, run: Pick<Run, "id" | "stage" | "round">, extra: { deliveryId?: string } & Record<string, unknown> = {}): Logger {
  const { deliveryId, ...rest } = extra;
  return log.child({ ...runBindings(run, deliveryId), ...rest });
}
