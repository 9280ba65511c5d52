import { UnrecoverableError } from "bullmq";

/**
 * Transient failures are retried with backoff; permanent ones park the run at once. Octokit's
 * retry and throttling plugins already retried inside the request; what reaches us is what
 * they gave up on.
 */
export type FailureKind = "transient" | "permanent";

/** Thrown when a job should run again later with backoff: it spends one of the job's attempts. */
export class RetryLaterError extends Error {
  override name = "RetryLaterError";
}

/**
 * Thrown when a job waits for something that ends by itself soon (another worker's claim on the
 * same effect, GitHub listing what a dispatch created): it runs again shortly without spending an
 * attempt, so a wait never turns into a failure. The thrower must bound the wait itself.
 */
export class WaitError extends Error {
  override name = "WaitError";
}

const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof UnrecoverableError) return "permanent";
  if (error instanceof RetryLaterError || error instanceof WaitError) return "transient";
  const candidate = error as { status?: unknown; code?: unknown; cause?: { code?: unknown }; response?: { headers?: Record<string, string> } };
  const status = typeof candidate?.status === "number" ? candidate.status : undefined;
  if (status !== undefined) {
    if (status >= 500 || status === 429 || status === 408) return "transient";
    const headers = candidate.response?.headers ?? {};
    // 403 is a rate limit when GitHub says so; otherwise it is a permission problem.
    if (status === 403 && (headers["retry-after"] !== undefined || headers["x-ratelimit-remaining"] === "0")) return "transient";
    return "permanent";
  }
  const code = candidate?.code ?? candidate?.cause?.code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return "transient";
  if (error instanceof TypeError && /fetch failed|network/i.test(error.message)) return "transient";
  if (error instanceof Error && error.name === "AbortError") return "transient";
  // Unknown errors are Conveyor's own bugs: retrying rarely helps, parking says so loudly.
  return "permanent";
}

export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    return typeof status === "number" ? `HTTP ${status}: ${error.message}` : error.message;
  }
  return String(error);
}
