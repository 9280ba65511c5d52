// GitHub's REST description, cut down to the operations Conveyor calls
// (test/fixtures/github/openapi-subset.json, made by scripts/fixtures/extract-openapi.mjs), and
// the checks fake-github.ts runs on every intercepted request: path parameters, query
// parameters and JSON request bodies, validated with Ajv.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import ajvFormats from "ajv-formats";
import subset from "../../fixtures/github/openapi-subset.json" with { type: "json" };

type Paths = typeof subset.paths;
type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** Every operation in the subset, as GitHub's docs and Octokit name it: "METHOD /path/{param}". */
export type GitHubOperation = {
  [P in keyof Paths]: `${Uppercase<Extract<keyof Paths[P], HttpMethod>>} ${P & string}`;
}[keyof Paths];

type ParamNames<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParamNames<Rest>
  : never;

/** The path parameters of an operation, e.g. `{ owner; repo; issue_number }`. */
export type PathParams<Op extends string> = Op extends `${string} ${infer Path}`
  ? { [K in ParamNames<Path>]: string | number }
  : never;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: object;
  "x-multi-segment"?: boolean;
}

interface OperationObject {
  operationId: string;
  parameters: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: object }> };
  responses: Record<string, unknown>;
}

export interface OperationSpec {
  /** "METHOD /path/{param}" */
  key: GitHubOperation;
  method: string;
  template: string;
  operationId: string;
  /** Lowest 2xx status GitHub documents for the operation. */
  successStatus: number;
  pathParams: string[];
  /** Matches a request pathname (without base path) and captures the path parameters in order. */
  pattern: RegExp;
  validateParams: (params: Record<string, string>, query: Record<string, string | string[]>) => string[];
  validateBody: (body: unknown) => string[];
}

const REF_BASE = "https://conveyor.invalid/github-openapi-subset";

/**
 * OpenAPI 3.0 → JSON Schema, "well enough" for request validation:
 * - `nullable: true` becomes `anyOf: [schema, { type: "null" }]`;
 * - `oneOf` becomes `anyOf` (GitHub's `oneOf` branches overlap, so exactly-one would reject
 *   valid requests);
 * - `$ref`s point at the component schemas registered under REF_BASE;
 * - with `closeObjects`, object schemas that list `properties` and say nothing about
 *   `additionalProperties` reject unknown keys (GitHub silently ignores a misspelt field; tests
 *   should not). Branches of composition keywords are left open.
 */
function toJsonSchema(schema: unknown, closeObjects: boolean, inComposition = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => toJsonSchema(s, closeObjects, inComposition));
  if (schema === null || typeof schema !== "object") return schema;
  const { nullable, ...rest } = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const composed = "oneOf" in rest || "anyOf" in rest || "allOf" in rest;
  for (const [key, value] of Object.entries(rest)) {
    if (key === "$ref" && typeof value === "string") {
      out.$ref = value.replace(/^#\/components\/schemas\//, `${REF_BASE}/components/schemas/`);
    } else if (key === "oneOf" || key === "anyOf" || key === "allOf") {
      out[key === "allOf" ? "allOf" : "anyOf"] = toJsonSchema(value, closeObjects, true);
    } else if (key === "properties" && value && typeof value === "object") {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, toJsonSchema(sub, closeObjects)]),
      );
    } else if (key === "enum" || key === "const" || key === "default" || key === "required") {
      out[key] = value;
    } else {
      out[key] = toJsonSchema(value, closeObjects);
    }
  }
  if (
    closeObjects &&
    !inComposition &&
    !composed &&
    "properties" in out &&
    !("additionalProperties" in out)
  ) {
    out.additionalProperties = false;
  }
  if (nullable === true) {
    if (Object.keys(out).length === 0) return out;
    return { anyOf: [out, { type: "null" }] };
  }
  return out;
}

function collectFormats(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => collectFormats(n, into));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "format" && typeof value === "string") into.add(value);
      else collectFormats(value, into);
    }
  }
  return into;
}

function createAjv(options: { coerceTypes: boolean; closeObjects: boolean }): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: options.coerceTypes, validateSchema: false, code: { optimize: false } });
  ajvFormats.default(ajv);
  // GitHub's own formats (int64, repo.nwo, ...) are documentation: accept any value.
  for (const format of collectFormats(subset, new Set())) {
    if (!ajv.formats[format]) ajv.addFormat(format, true);
  }
  for (const [name, schema] of Object.entries(subset.components.schemas)) {
    ajv.addSchema(
      toJsonSchema(schema, options.closeObjects) as object,
      `${REF_BASE}/components/schemas/${name}`,
    );
  }
  return ajv;
}

function describeErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const at = `${where}${e.instancePath}`;
    const detail =
      e.keyword === "additionalProperties"
        ? ` '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'`
        : e.keyword === "enum"
          ? ` ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
          : "";
    return `${at} ${e.message ?? e.keyword}${detail}`;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compileOperation(
  key: GitHubOperation,
  operation: OperationObject,
  bodyAjv: () => Ajv,
  paramAjv: () => Ajv,
): OperationSpec {
  const [method = "", template = ""] = key.split(" ");
  const byName = new Map(operation.parameters.map((p) => [`${p.in}:${p.name}`, p]));
  const pathParams: string[] = [];
  const source = template.replace(/\{([^}]+)\}|[^{]+/g, (chunk, name: string | undefined) => {
    if (name === undefined) return escapeRegExp(chunk);
    pathParams.push(name);
    return byName.get(`path:${name}`)?.["x-multi-segment"] ? "(.+)" : "([^/]+)";
  });

  const paramsSchema = (location: string, declared: Parameter[]) => ({
    type: "object",
    properties: Object.fromEntries(
      declared.map((p) => [p.name, toJsonSchema(p.schema ?? {}, false)]),
    ),
    required: declared.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
    $comment: location,
  });
  // Compiled on first use: most tests touch a handful of operations.
  let validatePath: ValidateFunction | undefined;
  let validateQuery: ValidateFunction | undefined;
  let bodyValidator: ValidateFunction | undefined;
  const json = operation.requestBody?.content["application/json"];
  const bodyRequired = operation.requestBody?.required === true;

  const successStatus =
    Object.keys(operation.responses)
      .map(Number)
      .filter((s) => s >= 200 && s < 300)
      .sort((a, b) => a - b)[0] ?? 200;

  return {
    key,
    method,
    template,
    operationId: operation.operationId,
    successStatus,
    pathParams,
    pattern: new RegExp(`^${source}$`),
    validateParams(params, query) {
      const ajv = paramAjv();
      validatePath ??= ajv.compile(paramsSchema("path", operation.parameters.filter((p) => p.in === "path")));
      validateQuery ??= ajv.compile(paramsSchema("query", operation.parameters.filter((p) => p.in === "query")));
      const errors: string[] = [];
      if (!validatePath({ ...params })) errors.push(...describeErrors("path parameters", validatePath.errors));
      // Query values arrive as strings: coerce on a copy, then validate.
      if (!validateQuery({ ...query })) errors.push(...describeErrors("query", validateQuery.errors));
      return errors;
    },
    validateBody(body) {
      if (body === undefined) {
        return bodyRequired ? ["request body is required but none was sent"] : [];
      }
      if (!json) return [`${key} takes no request body, got ${JSON.stringify(body)}`];
      bodyValidator ??= bodyAjv().compile(toJsonSchema(json.schema, true) as object);
      return bodyValidator(body) ? [] : describeErrors("body", bodyValidator.errors);
    },
  };
}

function compileAll(): Map<GitHubOperation, OperationSpec> {
  let body: Ajv | undefined;
  let param: Ajv | undefined;
  const bodyAjv = () => (body ??= createAjv({ coerceTypes: false, closeObjects: true }));
  const paramAjv = () => (param ??= createAjv({ coerceTypes: true, closeObjects: false }));
  const operations = new Map<GitHubOperation, OperationSpec>();
  for (const [path, item] of Object.entries(subset.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, OperationObject>)) {
      const key = `${method.toUpperCase()} ${path}` as GitHubOperation;
      operations.set(key, compileOperation(key, operation, bodyAjv, paramAjv));
    }
  }
  return operations;
}

let compiled: Map<GitHubOperation, OperationSpec> | undefined;

/** All operations of the subset, compiled once per test file (Ajv compilation is the slow part). */
export function githubOperations(): ReadonlyMap<GitHubOperation, OperationSpec> {
  compiled ??= compileAll();
  return compiled;
}

/** The operation `key` ("METHOD /path/{param}"), or an error naming the nearest known ones. */
export function getOperation(key: string): OperationSpec {
  const found = githubOperations().get(key as GitHubOperation);
  if (found) return found;
  const [, template = key] = key.split(" ");
  const samePath = [...githubOperations().keys()].filter((k) => k.endsWith(` ${template}`));
  throw new Error(
    `fake-github: "${key}" is not in test/fixtures/github/openapi-subset.json` +
      (samePath.length > 0 ? ` (that path has: ${samePath.join(", ")})` : "") +
      "; add it to scripts/fixtures/extract-openapi.mjs and re-run the script",
  );
}

/** The operation a concrete request (method + pathname without base path) belongs to, if any. */
export function findOperation(
  method: string,
  pathname: string,
): { operation: OperationSpec; params: Record<string, string> } | undefined {
  const upper = method.toUpperCase();
  let best: { operation: OperationSpec; params: Record<string, string>; literal: number } | undefined;
  for (const operation of githubOperations().values()) {
    if (operation.method !== upper) continue;
    const match = operation.pattern.exec(pathname);
    if (!match) continue;
    const params = Object.fromEntries(
      operation.pathParams.map((name, i) => [name, safeDecode(match[i + 1] ?? "")]),
    );
    // Prefer the template with the most literal text (`/issues/comments/{id}` over `/issues/{n}`).
    const literal = operation.template.replace(/\{[^}]+\}/g, "").length;
    if (!best || literal > best.literal) best = { operation, params, literal };
  }
  return best && { operation: best.operation, params: best.params };
}

export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
