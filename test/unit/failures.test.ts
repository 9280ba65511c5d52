// classifyFailure / describeFailure: what a failed job does next (retry or park the run).
import { RequestError } from "@octokit/request-error";
import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import { RetryLaterError, classifyFailure, describeFailure } from "../../src/queue/failures.js";

const API_URL = "https://api.github.com/repos/acme/widgets/issues/1/comments";

/** The error Octokit throws for a response with `status` and `headers`. */
function httpError(status: number, headers: Record<string, string> = {}, message = `status ${status}`): RequestError {
  return new RequestError(message, status, {
    request: { method: "POST", url: API_URL, headers: { authorization: "token secret" } },
    response: { status, url: API_URL, headers, data: { message } },
  });
}

/** Node's shape for a failed socket: an Error with a `code`. */
function systemError(code: string, message = `connect ${code} 140.82.112.6:443`): Error {
  return Object.assign(new Error(message), { code });
}

describe("classifyFailure: HTTP errors (Octokit RequestError)", () => {
  it.each([500, 502, 503, 504])("%i is transient (GitHub is having trouble)", (status) => {
    expect(classifyFailure(httpError(status))).toBe("transient");
  });

  it.each([
    [429, "too many requests"],
    [408, "request timeout"],
  ])("%i (%s) is transient", (status) => {
    expect(classifyFailure(httpError(status))).toBe("transient");
  });

  it.each([
    ["retry-after", { "retry-after": "60" }],
    ["retry-after 0", { "retry-after": "0" }],
    ["x-ratelimit-remaining 0", { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1714564800" }],
  ])("403 with %s is a rate limit: transient", (_what, headers) => {
    expect(classifyFailure(httpError(403, headers, "API rate limit exceeded"))).toBe("transient");
  });

  it.each([
    ["no rate-limit headers", {}],
    ["quota left", { "x-ratelimit-remaining": "4999" }],
  ])("403 with %s is a permission problem: permanent", (_what, headers) => {
    expect(classifyFailure(httpError(403, headers, "Resource not accessible by integration"))).toBe("permanent");
  });

  it.each([400, 401, 404, 409, 410, 422])("%i is permanent", (status) => {
    expect(classifyFailure(httpError(status))).toBe("permanent");
  });

  it("a RequestError with no response (only a request) is classified by status", () => {
    const error = new RequestError("Bad credentials", 401, { request: { method: "GET", url: API_URL, headers: {} } });
    expect(classifyFailure(error)).toBe("permanent");
    const transient = new RequestError("Service Unavailable", 503, { request: { method: "GET", url: API_URL, headers: {} } });
    expect(classifyFailure(transient)).toBe("transient");
  });

  it("Octokit's network failure (status 500 wrapping the socket error) is transient", () => {
    const error = new RequestError("read ECONNRESET", 500, { request: { method: "GET", url: API_URL, headers: {} }, cause: systemError("ECONNRESET") });
    expect(classifyFailure(error)).toBe("transient");
  });

  it("a plain object with a numeric status is classified like a RequestError", () => {
    expect(classifyFailure({ status: 502 })).toBe("transient");
    expect(classifyFailure({ status: 404 })).toBe("permanent");
    expect(classifyFailure({ status: 403, response: { headers: { "retry-after": "1" } } })).toBe("transient");
  });

  it("a status wins over a network code", () => {
    expect(classifyFailure(Object.assign(httpError(422), { code: "ECONNRESET" }))).toBe("permanent");
  });
});

describe("classifyFailure: network errors", () => {
  it.each(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"])(
    "code %s is transient",
    (code) => {
      expect(classifyFailure(systemError(code))).toBe("transient");
    },
  );

  it.each(["ECONNRESET", "ETIMEDOUT", "UND_ERR_SOCKET"])("cause.code %s is transient (undici's fetch failed)", (code) => {
    expect(classifyFailure(new Error("request failed", { cause: { code } }))).toBe("transient");
  });

  it("fetch's TypeError is transient", () => {
    expect(classifyFailure(new TypeError("fetch failed"))).toBe("transient");
    expect(classifyFailure(new TypeError("NetworkError when attempting to fetch resource."))).toBe("transient");
  });

  it("an AbortError (request timed out) is transient", () => {
    expect(classifyFailure(new DOMException("This operation was aborted", "AbortError"))).toBe("transient");
    expect(classifyFailure(Object.assign(new Error("aborted"), { name: "AbortError" }))).toBe("transient");
  });

  it.each(["ENOENT", "EACCES", "ERR_INVALID_ARG_TYPE"])("code %s is not a network problem: permanent", (code) => {
    expect(classifyFailure(systemError(code))).toBe("permanent");
  });

  it("a TypeError that is a bug, not the network, is permanent", () => {
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'number')"))).toBe("permanent");
  });
});

describe("classifyFailure: Conveyor's own errors", () => {
  it("UnrecoverableError is permanent", () => {
    expect(classifyFailure(new UnrecoverableError("the run is gone"))).toBe("permanent");
  });

  it("UnrecoverableError is permanent even when it carries a transient-looking code or status", () => {
    expect(classifyFailure(Object.assign(new UnrecoverableError("x"), { code: "ECONNRESET", status: 503 }))).toBe("permanent");
  });

  it("RetryLaterError is transient", () => {
    const error = new RetryLaterError("another job holds the run lock");
    expect(error.name).toBe("RetryLaterError");
    expect(error).toBeInstanceOf(Error);
    expect(classifyFailure(error)).toBe("transient");
  });

  it("RetryLaterError is transient even with a permanent-looking status", () => {
    expect(classifyFailure(Object.assign(new RetryLaterError("x"), { status: 404 }))).toBe("transient");
  });

  it.each([
    ["a plain Error", new Error("something broke")],
    ["a RangeError", new RangeError("bad index")],
    ["a string", "boom"],
    ["undefined", undefined],
    ["null", null],
    ["an object without status or code", { message: "?" }],
    ["a non-numeric status", { status: "503" }],
  ])("%s is permanent (unknown failures are bugs)", (_what, error) => {
    expect(classifyFailure(error)).toBe("permanent");
  });
});

describe("describeFailure", () => {
  it("an HTTP error is prefixed with its status", () => {
    expect(describeFailure(httpError(404, {}, "Not Found"))).toBe("HTTP 404: Not Found");
    expect(describeFailure(httpError(503, {}, "Service Unavailable"))).toBe("HTTP 503: Service Unavailable");
  });

  it("any other Error is its message", () => {
    expect(describeFailure(new Error("config broke"))).toBe("config broke");
    expect(describeFailure(systemError("ECONNRESET", "read ECONNRESET"))).toBe("read ECONNRESET");
    expect(describeFailure(new UnrecoverableError("the run is gone"))).toBe("the run is gone");
  });

  it("a non-numeric status is not presented as HTTP", () => {
    expect(describeFailure(Object.assign(new Error("odd"), { status: "503" }))).toBe("odd");
  });

  it.each([
    ["boom", "boom"],
    [42, "42"],
    [undefined, "undefined"],
    [null, "null"],
  ])("a thrown non-Error %j is stringified", (value, text) => {
    expect(describeFailure(value)).toBe(text);
  });
});
