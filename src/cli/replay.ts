import { createHmac, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import type { CliIO } from "./runs.js";

export const REPLAY_USAGE = `Usage: conveyor replay <file or folder> --to URL [--secret S] [--delay MS]

  Signs recorded webhook payloads with WEBHOOK_SECRET (or --secret) and POSTs them to a running
  app's webhook URL (e.g. http://localhost:3000/api/github/webhooks), in file-name order.
  A file holds either {"name": "issues", "id"?: "…", "payload": {…}} or a raw payload, then it
  must be named <event>.<action>.json or <event>.json (e.g. issues.labeled.json).
  Every file is read and checked before anything is sent: one bad file and nothing is sent.

Exit codes: 0 every delivery accepted, 1 a file is malformed or a delivery was refused, 2 usage.`;

const Recorded = z.object({
  name: z.string().regex(/^[a-z_]+$/, "a webhook event name such as issues or pull_request"),
  id: z.string().min(1).optional(),
  payload: z.record(z.string(), z.unknown()),
});

export interface Delivery {
  file: string;
  name: string;
  id: string;
  body: string;
}

export class MalformedPayloadError extends Error {
  override name = "MalformedPayloadError";
}

/** Reads one recorded delivery; throws MalformedPayloadError naming the file and the problem. */
export function readDelivery(file: string): Delivery {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new MalformedPayloadError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new MalformedPayloadError(`${file}: expected a JSON object`);
  if ("payload" in json || "name" in json) {
    const parsed = Recorded.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
      throw new MalformedPayloadError(`${file}: not a recorded delivery {name, id?, payload}: ${problems}`);
    }
    return { file, name: parsed.data.name, id: parsed.data.id ?? randomUUID(), body: JSON.stringify(parsed.data.payload) };
  }
  const match = /^([a-z_]+)(?:\.([a-z_]+))?\.json$/.exec(basename(file));
  if (!match) throw new MalformedPayloadError(`${file}: a raw payload file must be named <event>.<action>.json or <event>.json`);
  const [, name, action] = match;
  const payloadAction = (json as { action?: unknown }).action;
  if (action !== undefined && payloadAction !== action) {
    throw new MalformedPayloadError(`${file}: the name says action "${action}" but the payload's action is ${JSON.stringify(payloadAction ?? null)}`);
  }
  return { file, name: name!, id: randomUUID(), body: JSON.stringify(json) };
}

/** The files to replay: the file itself, or a folder's *.json files in name order. */
export function listPayloadFiles(path: string): string[] {
  const stat = statSync(path);
  if (!stat.isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => join(path, name));
}

export async function replayCommand(argv: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { to: { type: "string" }, secret: { type: "string" }, delay: { type: "string" }, help: { type: "boolean", short: "h" } } });
  } catch (error) {
    io.err(`conveyor replay: ${(error as Error).message}\n\n${REPLAY_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(REPLAY_USAGE);
    return 0;
  }
  const secret = values.secret ?? io.env.WEBHOOK_SECRET;
  const delay = values.delay === undefined ? 0 : Number(values.delay);
  const usage = (problem: string) => {
    io.err(`conveyor replay: ${problem}\n\n${REPLAY_USAGE}`);
    return 2;
  };
  if (positionals.length !== 1) return usage("name one file or folder of payloads");
  if (!values.to) return usage("--to URL is required (the app's webhook URL)");
  if (!/^https?:\/\//.test(values.to)) return usage(`--to must be an http(s) URL, not "${values.to}"`);
  if (!secret) return usage("WEBHOOK_SECRET is not set (or pass --secret): deliveries must be signed");
  if (!Number.isFinite(delay) || delay < 0) return usage("--delay must be a number of milliseconds");

  let deliveries: Delivery[];
  try {
    const files = listPayloadFiles(positionals[0]!);
    if (files.length === 0) {
      io.err(`conveyor replay: no .json files in ${positionals[0]}`);
      return 1;
    }
    deliveries = files.map(readDelivery);
  } catch (error) {
    const message = error instanceof MalformedPayloadError ? error.message : `${positionals[0]}: ${(error as Error).message}`;
    io.err(`conveyor replay: ${message}; nothing was sent`);
    return 1;
  }

  let failed = 0;
  for (const [index, delivery] of deliveries.entries()) {
    const signature = `sha256=${createHmac("sha256", secret).update(delivery.body).digest("hex")}`;
    let status: string;
    try {
      const response = await fetch(values.to, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "conveyor-replay",
          "x-github-event": delivery.name,
          "x-github-delivery": delivery.id,
          "x-hub-signature-256": signature,
        },
        body: delivery.body,
      });
      await response.arrayBuffer();
      status = String(response.status);
      if (!response.ok) failed++;
    } catch (error) {
      status = `error: ${(error as Error).message}`;
      failed++;
    }
    io.out(`${progress(index + 1, deliveries.length)} ${basename(delivery.file)} ${delivery.name} ${delivery.id} → ${status}`);
    if (delay && index < deliveries.length - 1) await new Promise((resolve) => setTimeout(resolve, delay));
  }
  io.out(`replayed ${deliveries.length - failed} of ${deliveries.length} deliveries${failed ? `, ${failed} refused` : ""}`);
  return failed ? 1 : 0;
}

/** `[#####-----] 3/6` */
export function progress(done: number, total: number, width = 20): string {
  const filled = Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`;
}
