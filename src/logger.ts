import { pino, type Logger } from "pino";

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
  "req.headers.authorization",
  "req.headers['x-hub-signature-256']",
  "env.PRIVATE_KEY",
  "env.WEBHOOK_SECRET",
  "headers.Authorization",
  "*.headers.Authorization",
  "headers.cookie",
  "*.headers.cookie",
  "request.headers.authorization",
  "*.request.headers.authorization",
  "accessToken",
  "*.accessToken",
  "apiKey",
  "*.apiKey",
  "env.OPENAI_API_KEY",
  "env.ANTHROPIC_API_KEY",
  "env.DASHBOARD_TOKEN",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { name: "conveyor", level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}
