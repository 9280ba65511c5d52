import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Settings } from "../../env.js";
import { GitHubSignIn, SignInError, type GitHubSignInOptions } from "./github-sign-in.js";
import { BASE, escape, html } from "./pages.js";
import { Sessions, SESSION_COOKIE, SESSION_SECONDS, cookie, readCookie, sameSecret, type Principal } from "./session.js";

export const LOGIN_PATH = `${BASE}/login`;
export const CALLBACK_PATH = `${BASE}/oauth/callback`;
export const LOGOUT_PATH = `${BASE}/logout`;
const STATE_COOKIE = "conveyor_oauth_state";
const STATE_PATH = `${BASE}/oauth`;
/** Time to click through GitHub's authorize page. */
const STATE_SECONDS = 600;

export interface AuthOptions {
  /** DASHBOARD_TOKEN: `Authorization: Bearer …`, or once through /dashboard/login?token=…. */
  token: string | undefined;
  /** GitHub sign-in (GITHUB_CLIENT_ID/SECRET, DASHBOARD_USERS); null or absent: token only. */
  github?: GitHubSignInOptions | null;
  /** DASHBOARD_URL (its origin): the public address behind a proxy, for the OAuth callback and Secure cookies. */
  publicUrl?: string | undefined;
}

/**
 * Who may use the dashboard and the queue board: the token holder, or a listed GitHub user
 * after GitHub's web flow. Either way the browser then carries a signed session cookie.
 */
export class DashboardAuth {
  readonly #token: string | undefined;
  readonly #github: GitHubSignIn | null;
  readonly #publicUrl: string | undefined;
  readonly #sessions: Sessions;

  constructor(options: AuthOptions) {
    this.#token = options.token;
    this.#github = options.github ? new GitHubSignIn(options.github) : null;
    this.#publicUrl = options.publicUrl ? new URL(options.publicUrl).origin : undefined;
    this.#sessions = new Sessions([options.token, options.github?.clientSecret]);
  }

  /** False when neither a token nor GitHub sign-in is configured: the dashboard does not exist. */
  get enabled(): boolean {
    return Boolean(this.#token || this.#github);
  }

  authenticate(req: IncomingMessage): Principal | null {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (bearer !== undefined) return this.#token && sameSecret(bearer, this.#token) ? { kind: "token" } : null;
    const session = readCookie(req, SESSION_COOKIE);
    return session === null ? null : this.#sessions.verify(session);
  }

  /** Answers 401 without a word about runs or queues. */
  deny(res: ServerResponse): true {
    res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "www-authenticate": 'Bearer realm="conveyor"' }).end(`Unauthorized. Sign in at ${LOGIN_PATH}\n`);
    return true;
  }

  /** Handles login, the OAuth callback and logout; false for any other path. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (req.method !== "GET") return false;
    if (url.pathname === LOGIN_PATH) return this.#login(req, res, url);
    if (url.pathname === CALLBACK_PATH) return this.#callback(req, res, url);
    if (url.pathname === LOGOUT_PATH) {
      html(res, 200, "Signed out", `<p>Signed out. <a href="${LOGIN_PATH}">Sign in again</a>.</p>`, { "set-cookie": this.#clear(req, SESSION_COOKIE, BASE) });
      return true;
    }
    return false;
  }

  /**
   * False for a request another site's page sent (its Origin names another host, or is opaque).
   * No Origin at all: not a browser's cross-site request (curl, the CLI).
   */
  sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return new URL(origin).host === this.#host(req);
    } catch {
      return false;
    }
  }

  #host(req: IncomingMessage): string {
    if (this.#publicUrl) return new URL(this.#publicUrl).host;
    return String(req.headers["x-forwarded-host"] ?? req.headers.host ?? "localhost").split(",")[0]!.trim();
  }

  #login(req: IncomingMessage, res: ServerResponse, url: URL): true {
    const given = url.searchParams.get("token");
    if (given !== null) {
      if (!this.#token || !sameSecret(given, this.#token)) return this.deny(res);
      return this.#admit(req, res, { kind: "token" });
    }
    if (!this.#github) return this.deny(res);
    const state = randomBytes(24).toString("base64url");
    res
      .writeHead(302, {
        location: this.#github.authorizationUrl(state, this.#callbackUrl(req)),
        "set-cookie": cookie(STATE_COOKIE, state, { path: STATE_PATH, maxAge: STATE_SECONDS, secure: this.#secure(req) }),
        "cache-control": "no-store",
      })
      .end();
    return true;
  }

  async #callback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<true> {
    if (!this.#github) return this.deny(res);
    const expected = readCookie(req, STATE_COOKIE);
    const state = url.searchParams.get("state");
    // The state ties the callback to a sign-in this browser started (CSRF, login fixation).
    if (!expected || !state || !sameSecret(state, expected)) return this.#refuse(req, res, 401, "The sign-in state does not match (expired, or not started from this browser).");
    const code = url.searchParams.get("code");
    if (!code) return this.#refuse(req, res, 401, `GitHub sent no code${url.searchParams.get("error") ? ` (${url.searchParams.get("error")})` : ""}.`);
    try {
      const login = await this.#github.signIn(code, this.#callbackUrl(req));
      return this.#admit(req, res, { kind: "github", login });
    } catch (error) {
      if (error instanceof SignInError) return this.#refuse(req, res, error.status, `${error.message}.`);
      throw error;
    }
  }

  #admit(req: IncomingMessage, res: ServerResponse, principal: Principal): true {
    const secure = this.#secure(req);
    const cookies = [cookie(SESSION_COOKIE, this.#sessions.issue(principal), { path: BASE, maxAge: SESSION_SECONDS, secure })];
    if (principal.kind === "github") cookies.push(this.#clear(req, STATE_COOKIE, STATE_PATH));
    res.writeHead(303, { location: BASE, "set-cookie": cookies, "cache-control": "no-store" }).end();
    return true;
  }

  #refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string): true {
    html(res, status, "Sign-in refused", `<p>${escape(message)}</p><p><a href="${LOGIN_PATH}">Sign in again</a></p>`, { "set-cookie": this.#clear(req, STATE_COOKIE, STATE_PATH) });
    return true;
  }

  #clear(req: IncomingMessage, name: string, path: string): string {
    return cookie(name, "", { path, maxAge: 0, secure: this.#secure(req) });
  }

  /** Must be one of the callback URLs in the GitHub App's settings. */
  #callbackUrl(req: IncomingMessage): string {
    return `${this.#publicUrl ?? `${this.#secure(req) ? "https" : "http"}://${this.#host(req)}`}${CALLBACK_PATH}`;
  }

  #secure(req: IncomingMessage): boolean {
    if (this.#publicUrl) return this.#publicUrl.startsWith("https:");
    const forwarded = String(req.headers["x-forwarded-proto"] ?? "").split(",")[0]!.trim();
    return forwarded === "https" || Boolean((req.socket as TLSSocket).encrypted);
  }
}

/** The dashboard's auth settings from the environment; GitHub sign-in needs the App's OAuth client. */
export function authOptionsFrom(settings: Pick<Settings, "DASHBOARD_TOKEN" | "GITHUB_CLIENT_ID" | "GITHUB_CLIENT_SECRET" | "DASHBOARD_USERS" | "DASHBOARD_URL" | "baseUrl">): AuthOptions {
  const { GITHUB_CLIENT_ID: clientId, GITHUB_CLIENT_SECRET: clientSecret } = settings;
  return {
    token: settings.DASHBOARD_TOKEN,
    github: clientId && clientSecret ? { clientId, clientSecret, users: settings.DASHBOARD_USERS, baseUrl: settings.baseUrl } : null,
    publicUrl: settings.DASHBOARD_URL,
  };
}
