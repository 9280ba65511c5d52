// security/secret-in-diff: credentials committed in added lines. Well-known token formats are
// blockers; a long literal assigned to a secret-named variable is major. Findings never repeat
// the secret itself (the review is posted publicly on the pull request).
import type { Analyzer } from "../analyzer.js";
import { FindingSet } from "../finding.js";
import { NewFile, extensionOf, basename, isTestPath, reviewableFiles } from "./support.js";

/** Shortest literal that the generic `password = "…"` check considers a credential. */
export const MIN_GENERIC_SECRET_LENGTH = 8;
/** A literal this long needs no digit or symbol to count as a credential. */
export const LONG_SECRET_LENGTH = 16;
/** Fewest distinct characters a real key or password has; fewer looks like `xxxxxxxx`. */
export const MIN_DISTINCT_SECRET_CHARS = 5;
/** Lines longer than this (minified bundles, data) are only searched for well-known token formats. */
export const MAX_GENERIC_SCAN_LINE_LENGTH = 2_000;

interface TokenFormat {
  kind: string;
  pattern: RegExp;
  /** Extra evidence required next to the match (a PEM header alone is a parser's string constant). */
  confirm?: (source: NewFile, line: number, text: string, index: number) => boolean;
}

const BASE64_LINE = /^\s*"?[A-Za-z0-9+/=]{40,}"?,?\s*$/;

export const TOKEN_FORMATS: readonly TokenFormat[] = [
  { kind: "AWS access key ID", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  { kind: "GitHub token", pattern: /\bgh[pousr]_[A-Za-z0-9]{36,251}\b/g },
  { kind: "GitHub fine-grained token", pattern: /\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b/g },
  { kind: "Slack token", pattern: /\bxox[abposre]-[A-Za-z0-9-]{20,}/g },
  { kind: "Slack webhook URL", pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g },
  { kind: "Stripe live key", pattern: /\b[sr]k_live_[A-Za-z0-9]{24,}\b/g },
  { kind: "Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: "npm token", pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  {
    kind: "private key",
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g,
    // Key material follows: an escaped newline and base64 on the same line (JSON), or base64 or
    // PEM headers on the next line.
    confirm: (source, line, text, index) => {
      if (/^[^\n]*?-----(?:\\r)?\\n[A-Za-z0-9+/]{20,}/.test(text.slice(index))) return true;
      const next = source.line(line + 1);
      return next !== undefined && (BASE64_LINE.test(next) || /^\s*Proc-Type:/.test(next));
    },
  },
];

const PLACEHOLDER =
  /example|sample|dummy|fake|placeholder|changeme|change[_-]?me|your[_-]|redacted|replace|insert|xxxx|\*\*\*|\.\.\.|<[^>]*>|\$\{|\{\{|%[sd(]|\$\(|^\$[A-Z_]|(^|[^a-z])(test|todo)/i;

/** Values that stand in for a secret rather than being one. */
export function looksLikePlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value) || new Set(value.toLowerCase()).size < MIN_DISTINCT_SECRET_CHARS;
}

/** Variable names (lowercased, separators removed) that hold credentials. */
const SECRET_NAME_ENDINGS = ["password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "secretkeybase"];

export function isSecretName(name: string): boolean {
  const last = name.split(".").pop()!.toLowerCase().replace(/[-_]/g, "");
  return SECRET_NAME_ENDINGS.some((ending) => last.endsWith(ending));
}

function looksLikeGenericSecret(name: string, value: string): boolean {
  if (!isSecretName(name)) return false;
  if (value.length < MIN_GENERIC_SECRET_LENGTH || /\s/.test(value)) return false;
  if (looksLikePlaceholder(value)) return false;
  // Words about secrets, not secrets: `token = "access_token"`, `secret = "MY_APP_SECRET"`.
  if (/password|passwd|secret|token|api[_-]?key/i.test(value)) return false;
  if (/^[A-Z][A-Z0-9_]*$/.test(value)) return false;
  // URLs without credentials, paths, and headers.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^[^/]*\/\/[^/\s]*:[^/\s]*@/.test(value)) return false;
  if (/^(\.{0,2}\/|~\/)/.test(value)) return false;
  return /[\d!#$%&*+=?@^~]/.test(value) || value.length >= LONG_SECRET_LENGTH;
}

/** `name = "literal"`, `name: "literal"`, `"name": "literal"`, `name := "literal"`, `name => 'literal'`, with an optional type annotation. */
const QUOTED_ASSIGNMENT = /(?<![\w$])["']?([A-Za-z_$][\w$.-]*)["']?\s*(?::\s*[A-Za-z_][\w<>[\]|. ]*?\s*)?(?:=>|:=|=(?!=)|:)\s*[rbu]?(["'`])((?:\\.|(?!\2)[^\\])*)\2/g;
/** `.env`-style `NAME=value` and unquoted YAML `name: value`. */
const ENV_ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][\w.-]*)\s*=\s*([^\s"'#][^\s#]*)\s*(?:#.*)?$/;
const YAML_ASSIGNMENT = /^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:\s+([^\s"'#&*!|>{[][^\s#]*)\s*(?:#.*)?$/;

const isEnvFile = (path: string) => /^\.env(\..+)?$/.test(basename(path)) || ["properties", "ini", "cfg", "conf"].includes(extensionOf(path));
const isYamlFile = (path: string) => ["yml", "yaml"].includes(extensionOf(path));

function genericSecretOn(path: string, text: string): boolean {
  if (text.length > MAX_GENERIC_SCAN_LINE_LENGTH) return false;
  for (const match of text.matchAll(QUOTED_ASSIGNMENT)) {
    if (match[2] === "`" && match[3]!.includes("${")) continue;
    if (looksLikeGenericSecret(match[1]!, match[3]!)) return true;
  }
  const unquoted = (isEnvFile(path) ? ENV_ASSIGNMENT : isYamlFile(path) ? YAML_ASSIGNMENT : null)?.exec(text);
  return unquoted ? looksLikeGenericSecret(unquoted[1]!, unquoted[2]!) : false;
}

export const secretInDiff: Analyzer = {
  angle: "security",
  rule: "security/secret-in-diff",
  description:
    "Credentials in added lines: AWS, GitHub, Slack, Stripe, Google and npm tokens and PEM private keys (blocker), and long literals assigned to password/secret/token/API-key names (major; placeholders, env lookups and test files are left alone).",
  run({ diff, files }) {
    const found = new FindingSet("security/secret-in-diff");
    for (const file of reviewableFiles(diff)) {
      const source = NewFile.of(file, files);
      for (const { line, text } of source.added()) {
        const token = TOKEN_FORMATS.find((format) =>
          [...text.matchAll(format.pattern)].some((match) => !looksLikePlaceholder(match[0]) && (format.confirm?.(source, line, text, match.index) ?? true)),
        );
        if (token) {
          found.add(file.path, line, {
            severity: "blocker",
            title: `${token.kind} committed in the diff`,
            rationale: `This line contains what looks like a real ${token.kind}. Anything pushed to the repository stays in its history and can be read by everyone with access (and by anyone, for a public repository or a fork), so the credential must be treated as leaked.`,
            suggestion:
              "Revoke and rotate the credential now, remove it from the change, and read it at runtime from a secret store or an environment variable (for GitHub Actions, `${{ secrets.NAME }}`).",
          });
        } else if (!isTestPath(file.path) && genericSecretOn(file.path, text)) {
          found.add(file.path, line, {
            severity: "major",
            title: "Hard-coded credential",
            rationale:
              "A literal that looks like a password, secret, token or API key is assigned in source. It ends up in the repository's history, is shared by every environment, and cannot be rotated without a code change.",
            suggestion: "Load the value from configuration or a secret store (an environment variable, a secrets manager); if it was ever real, rotate it.",
          });
        }
      }
    }
    return found.findings;
  },
};
