// Webhook events for tests and benchmarks, built from the community's published payloads
// (test/fixtures/webhooks/, made by scripts/fixtures/extract-webhooks.mjs) and adapted per test.
//
//   await probot.receive(webhook("issues", "labeled", { label: { name: "conveyor" } }));
//   await fetch(url, signedRequest(secret, webhook("push", undefined, { ref: "refs/heads/main" })));
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Probot } from "probot";

const FIXTURES = new URL("../../fixtures/webhooks/", import.meta.url);

/** Event name → the actions we keep fixtures for (`undefined`: the event has no action). */
export interface WebhookFixtures {
  issues: "labeled" | "unlabeled" | "closed";
  issue_comment: "created" | "edited";
  pull_request: "opened" | "synchronize" | "closed";
  pull_request_review: "submitted" | "dismissed";
  check_suite: "completed";
  check_run: "completed";
  workflow_run: "completed" | "requested";
  push: undefined;
  installation: "created";
  installation_repositories: "added";
}

export type WebhookName = keyof WebhookFixtures;

/** What `probot.receive()` accepts. */
type ProbotEvent = Parameters<Probot["receive"]>[0];

/** The typed event `probot.receive()` takes for this name and action. */
export type Webhook<N extends WebhookName, A extends WebhookFixtures[N] = WebhookFixtures[N]> =
  A extends string
    ? Extract<ProbotEvent, { name: N; payload: { action: A } }>
    : Extract<ProbotEvent, { name: N }>;

type Payload<N extends WebhookName, A extends WebhookFixtures[N]> = Webhook<N, A>["payload"];

/** A patch: objects merge deeply, arrays and scalars replace, `undefined` leaves a value alone. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export interface SignedRequest {
  method: "POST";
  headers: Record<string, string>;
  body: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Returns `target` merged with `patch` (neither is modified). */
export function deepMerge<T>(target: T, patch: unknown): T {
  if (!isPlainObject(patch) || !isPlainObject(target)) {
    return (patch === undefined ? target : structuredClone(patch)) as T;
  }
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key], value) : structuredClone(value);
  }
  return out as T;
}

/** The published payload, unchanged, for `name` and `action` (e.g. "issues", "labeled"). */
export function loadWebhookFixture(name: WebhookName, action?: string): Record<string, unknown> {
  const file = new URL(action === undefined ? `${name}.json` : `${name}.${action}.json`, FIXTURES);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new Error(
      `webhooks: no fixture ${file.pathname}; add the event to scripts/fixtures/extract-webhooks.mjs and re-run it`,
      { cause: error },
    );
  }
}

/** GitHub's node id for an installation (the published examples use installation 1). */
function installationNodeId(id: number): string {
  return Buffer.from(`023:IntegrationInstallation${id}`).toString("base64");
}

/**
 * A webhook event for `probot.receive()`: the fixture for `name`/`action`, deep-merged with
 * `patch`, with `installation.id` set (1 unless the patch says otherwise) and a fresh delivery id.
 */
export function webhook<N extends WebhookName, A extends WebhookFixtures[N]>(
  name: N,
  action: A,
  patch?: DeepPartial<Payload<N, A>>,
): Webhook<N, A> {
  const merged = deepMerge(loadWebhookFixture(name, action), patch);
  const patchedId = (patch as { installation?: { id?: unknown } } | undefined)?.installation?.id;
  const installationId = typeof patchedId === "number" ? patchedId : 1;
  const installation = isPlainObject(merged.installation) ? merged.installation : {};
  merged.installation = {
    ...installation,
    id: installationId,
    node_id:
      typeof installation.node_id === "string" && installation.id === installationId
        ? installation.node_id
        : installationNodeId(installationId),
  };
  return { name, id: randomUUID(), payload: merged } as unknown as Webhook<N, A>;
}

/** `x-hub-signature-256` for a raw body, as GitHub computes it. */
export function signPayload(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * A signed HTTP delivery of `event`, ready for `fetch(url, signedRequest(secret, event))`:
 * method, headers (`x-github-event`, `x-github-delivery`, `x-hub-signature-256`,
 * `content-type`) and the JSON body the signature covers.
 */
export function signedRequest(
  secret: string,
  event: { name: string; id: string; payload: unknown },
): SignedRequest {
  const body = JSON.stringify(event.payload);
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/conveyor-test",
      "x-github-event": event.name,
      "x-github-delivery": event.id,
      "x-hub-signature-256": signPayload(secret, body),
    },
    body,
  };
}
