// GitHub faked at HTTP level with nock, checked against GitHub's published OpenAPI description.
//
//   const gh = fakeGitHub();
//   gh.installationToken();
//   gh.on("POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
//     { owner: "acme", repo: "widgets", issue_number: 7 },
//     { status: 201, body: { id: 42 } });
//   ...run the code under test...
//   gh.done(); // throws on unused interceptors, unmatched requests, invalid requests
//
// Registering an operation that is not in test/fixtures/github/openapi-subset.json throws. Every
// intercepted request has its path parameters, query and JSON body validated against the
// operation; an invalid request is answered 422 (as GitHub would) and fails `done()`. Unless
// `autoVerify: false`, `done()` also runs by itself when the current test finishes.
import nock from "nock";
import { onTestFinished } from "vitest";
import {
  findOperation,
  getOperation,
  type GitHubOperation,
  type OperationSpec,
  type PathParams,
  safeDecode,
} from "./openapi.js";

export type { GitHubOperation, PathParams } from "./openapi.js";

export interface FakeGitHubOptions {
  /** API root, e.g. "https://ghe.example.com/api/v3" for GitHub Enterprise Server. */
  baseUrl?: string;
  /** Run `done()` when the current test finishes (default true; needs to be created in a test or hook). */
  autoVerify?: boolean;
}

export interface RecordedRequest {
  /** The operation the request belongs to, undefined when it matches none in the subset. */
  operation: GitHubOperation | undefined;
  /** False when no interceptor answered it (nock then fails the request). */
  matched: boolean;
  method: string;
  /** Pathname without the base path and query, e.g. "/repos/acme/widgets/issues/7/comments". */
  path: string;
  /** Decoded path parameters by name, e.g. `{ owner: "acme", issue_number: "7" }`. */
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, a raw string if it is not JSON, undefined if there was none. */
  body: unknown;
}

export interface Reply {
  /** Defaults to the operation's lowest documented 2xx status (201 for creations, 204 …). */
  status?: number;
  /** Sent as JSON; defaults to `{}` (nothing for 204). */
  body?: unknown;
  headers?: Record<string, string>;
}

export type Responder = Reply | ((request: RecordedRequest) => Reply | Promise<Reply>);

export interface InterceptOptions {
  /** How many requests this interceptor answers (default 1). */
  times?: number;
  /** Answer any number of requests (at least one unless `optional`). */
  persist?: boolean;
  /** Do not fail `done()` when it is not (fully) used. */
  optional?: boolean;
  /** Only match requests whose query has these values (other query keys are allowed). */
  query?: Record<string, string | number | boolean>;
}

export interface InstallationTokenOptions {
  installationId?: number;
  token?: string;
  permissions?: Record<string, string>;
  /** Default: any number of times, including none (Probot caches tokens). */
  times?: number;
}

export interface FakeGitHub {
  readonly baseUrl: string;
  /** Every request sent to the base URL, in order, answered or not. */
  readonly requests: readonly RecordedRequest[];
  /** Validation failures and unmatched requests so far; `done()` fails if any. */
  readonly errors: readonly string[];
  /**
   * Answers `operation` ("METHOD /path/{param}", as in GitHub's docs) for requests whose path
   * parameters equal `params` (an omitted parameter matches any value).
   */
  on<Op extends GitHubOperation>(
    operation: Op,
    params?: Partial<PathParams<Op>>,
    reply?: Responder,
    options?: InterceptOptions,
  ): FakeGitHub;
  /** Answers `POST /app/installations/{id}/access_tokens`, which Probot sends in app mode. */
  installationToken(options?: InstallationTokenOptions): FakeGitHub;
  /** Recorded requests of one operation (answered or not). */
  calls(operation: GitHubOperation): RecordedRequest[];
  /** Interceptors not used as many times as required. */
  pending(): string[];
  /** Throws if an interceptor is unused, a request was unmatched or a request was invalid. */
  done(): void;
}

interface Registration {
  label: string;
  times: number;
  persist: boolean;
  optional: boolean;
  calls: number;
}

const NO_CONTENT = new Set([204, 205, 304]);

function toQuery(searchParams: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...[existing].flat(), value];
  }
  return query;
}

function parseBody(raw: unknown): unknown {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (typeof raw !== "string") return raw; // nock already parsed JSON
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function describeParams(params: Record<string, unknown> | undefined): string {
  const entries = Object.entries(params ?? {}).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? "" : ` ${JSON.stringify(Object.fromEntries(entries))}`;
}

export function fakeGitHub(options: FakeGitHubOptions = {}): FakeGitHub {
  const base = new URL(options.baseUrl ?? "https://api.github.com");
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, "");
  const requests: RecordedRequest[] = [];
  const errors: string[] = [];
  const registrations: Registration[] = [];
  let verified = false;

  const stripBase = (pathname: string): string | undefined => {
    if (basePath === "") return pathname;
    if (pathname === basePath) return "/";
    return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
  };

  // Requests nock could not answer: record them so `done()` names them (nock only fails the
  // request, which the code under test may swallow).
  const onNoMatch = (...args: unknown[]) => {
    const info = (args.length >= 2 ? args[1] : args[0]) as
      | { method?: string; path?: string; host?: string; hostname?: string; port?: string | number; proto?: string; href?: string }
      | undefined;
    if (!info || typeof info !== "object" || typeof info.path !== "string") return;
    const host = info.hostname ?? info.host?.split(":")[0];
    if (host !== base.hostname) return;
    const port = String(info.port ?? "");
    const defaultPort = base.protocol === "https:" ? "443" : "80";
    if ((base.port || defaultPort) !== (port || defaultPort)) return;
    const url = new URL(info.path, origin);
    const path = stripBase(url.pathname);
    if (path === undefined) return;
    const method = (info.method ?? "GET").toUpperCase();
    const found = findOperation(method, path);
    requests.push({
      operation: found?.operation.key,
      matched: false,
      method,
      path,
      params: found?.params ?? {},
      query: toQuery(url.searchParams),
      headers: {},
      body: undefined,
    });
    errors.push(
      `unmatched request ${method} ${url.pathname}${url.search}` +
        (found
          ? ` (operation ${found.operation.key}${describeParams(found.params)}: no interceptor left for these parameters)`
          : " (not an operation in the OpenAPI subset)"),
    );
  };
  nock.emitter.on("no match", onNoMatch);

  const gh: FakeGitHub = {
    baseUrl: `${origin}${basePath}`,
    requests,
    errors,

    on(operation, params, reply, interceptOptions = {}) {
      const spec: OperationSpec = getOperation(operation);
      const expected = (params ?? {}) as Record<string, string | number | undefined>;
      for (const name of Object.keys(expected)) {
        if (!spec.pathParams.includes(name)) {
          throw new Error(
            `fake-github: ${operation} has no path parameter "${name}" (it has: ${spec.pathParams.join(", ") || "none"})`,
          );
        }
      }
      const { times = 1, persist = false, optional = false, query } = interceptOptions;
      const registration: Registration = {
        label: `${operation}${describeParams(expected)}${query ? ` query ${JSON.stringify(query)}` : ""}`,
        times,
        persist,
        optional,
        calls: 0,
      };
      registrations.push(registration);

      const matchesPath = (pathname: string): boolean => {
        const path = stripBase(pathname);
        if (path === undefined) return false;
        const match = spec.pattern.exec(path);
        if (!match) return false;
        return spec.pathParams.every((name, i) => {
          const want = expected[name];
          return want === undefined || String(want) === safeDecode(match[i + 1] ?? "");
        });
      };
      const matchesQuery = (actual: Record<string, unknown>): boolean =>
        !query ||
        Object.entries(query).every(([key, value]) => {
          const got = actual[key];
          return Array.isArray(got) ? got.includes(String(value)) : got === String(value);
        });

      const scope = nock(origin).persist(persist);
      let interceptor = scope.intercept(matchesPath, spec.method).query(matchesQuery);
      if (!persist) interceptor = interceptor.times(times);
      interceptor.reply(async function (uri, rawBody) {
        registration.calls += 1;
        const url = new URL(uri, origin);
        const path = stripBase(url.pathname) ?? url.pathname;
        const match = spec.pattern.exec(path);
        const recorded: RecordedRequest = {
          operation: spec.key,
          matched: true,
          method: spec.method,
          path,
          params: Object.fromEntries(
            spec.pathParams.map((name, i) => [name, safeDecode(match?.[i + 1] ?? "")]),
          ),
          query: toQuery(url.searchParams),
          headers: { ...this.req.headers },
          body: parseBody(rawBody),
        };
        requests.push(recorded);

        const problems = [
          ...spec.validateParams(recorded.params, recorded.query),
          ...spec.validateBody(recorded.body),
        ];
        if (problems.length > 0) {
          errors.push(
            `invalid request ${spec.method} ${url.pathname}${url.search} (${spec.key}):\n  - ${problems.join("\n  - ")}`,
          );
          return [
            422,
            JSON.stringify({
              message: "Validation Failed (fake GitHub: request does not match GitHub's OpenAPI description)",
              errors: problems,
            }),
            { "content-type": "application/json; charset=utf-8" },
          ];
        }

        const answer = typeof reply === "function" ? await reply(recorded) : (reply ?? {});
        const status = answer.status ?? spec.successStatus;
        // A string body is sent as is (raw media types such as file contents); anything else as JSON.
        const raw = typeof answer.body === "string";
        const body = NO_CONTENT.has(status) ? "" : raw ? (answer.body as string) : JSON.stringify(answer.body ?? {});
        const headers: Record<string, string> = {
          ...(body === "" ? {} : { "content-type": raw ? "text/plain; charset=utf-8" : "application/json; charset=utf-8" }),
          ...answer.headers,
        };
        return [status, body, headers];
      });
      return gh;
    },

    installationToken({ installationId = 1, token = "test", permissions = {}, times } = {}) {
      return gh.on(
        "POST /app/installations/{installation_id}/access_tokens",
        { installation_id: installationId },
        () => ({
          status: 201,
          body: {
            token,
            expires_at: new Date(Date.now() + 3_600_000).toISOString(),
            permissions,
            repository_selection: "all",
          },
        }),
        times === undefined ? { persist: true, optional: true } : { times },
      );
    },

    calls(operation) {
      return requests.filter((r) => r.operation === operation);
    },

    pending() {
      return registrations
        .filter((r) => !r.optional && (r.persist ? r.calls === 0 : r.calls < r.times))
        .map((r) => (r.persist ? `${r.label} (never called)` : `${r.label} (called ${r.calls} of ${r.times} times)`));
    },

    done() {
      verified = true;
      nock.emitter.removeListener("no match", onNoMatch);
      const pending = gh.pending();
      if (errors.length === 0 && pending.length === 0) return;
      throw new Error(
        [
          "fake-github: GitHub was not used as expected",
          ...errors.map((e) => `- ${e}`),
          ...pending.map((p) => `- unused interceptor ${p}`),
        ].join("\n"),
      );
    },
  };

  if (options.autoVerify !== false) {
    try {
      onTestFinished(() => {
        if (!verified) gh.done();
      });
    } catch {
      // Not inside a running test (e.g. beforeAll or a benchmark): call done() yourself.
    }
  }
  return gh;
}
