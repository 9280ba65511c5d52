import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Who a session belongs to: the token holder, or a GitHub user admitted after sign-in. */
export type Principal = { kind: "token" } | { kind: "github"; login: string };

export const SESSION_COOKIE = "conveyor_dashboard";
/** A session lasts a working day; signing in again is one click with GitHub. */
export const SESSION_SECONDS = 12 * 3600;

/** Compares secrets in constant time whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function readCookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) {
      try {
        return decodeURIComponent(value.join("="));
      } catch {
        return null;
      }
    }
  }
  return null;
}

export interface CookieOptions {
  path: string;
  maxAge: number;
  secure: boolean;
}

/** HttpOnly and SameSite=Lax: Lax so the cookie comes along on GitHub's redirect back to the callback. */
export function cookie(name: string, value: string, options: CookieOptions): string {
  return `${name}=${encodeURIComponent(value)}; Path=${options.path}; Max-Age=${options.maxAge}; HttpOnly; SameSite=Lax${options.secure ? "; Secure" : ""}`;
}

/**
 * Signed, stateless sessions: `payload.signature`, HMAC-SHA256 over the payload. The key is
 * derived from the dashboard's secrets, so every web process accepts the same cookies and
 * rotating the token or the client secret ends every session.
 */
export class Sessions {
  readonly #key: Buffer;

  constructor(secrets: Array<string | undefined>) {
    this.#key = createHmac("sha256", "conveyor dashboard session").update(secrets.map((secret) => secret ?? "").join("\0")).digest();
  }

  issue(principal: Principal, now = Date.now()): string {
    const payload = Buffer.from(JSON.stringify({ ...principal, exp: Math.floor(now / 1000) + SESSION_SECONDS })).toString("base64url");
    return `${payload}.${this.#sign(payload)}`;
  }

  /** The session's principal, or null when the value is forged, damaged or expired. */
  verify(value: string, now = Date.now()): Principal | null {
    const [payload, signature, ...rest] = value.split(".");
    if (!payload || !signature || rest.length > 0) return null;
    if (!sameSecret(signature, this.#sign(payload))) return null;
    try {
      const data = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { kind?: unknown; login?: unknown; exp?: unknown };
      if (typeof data.exp !== "number" || data.exp * 1000 <= now) return null;
      if (data.kind === "token") return { kind: "token" };
      if (data.kind === "github" && typeof data.login === "string") return { kind: "github", login: data.login };
      return null;
    } catch {
      return null;
    }
  }

  #sign(payload: string): string {
    return createHmac("sha256", this.#key).update(payload).digest("base64url");
  }
}
