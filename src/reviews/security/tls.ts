// security/insecure-tls: certificate verification switched off outside tests.
import type { Analyzer } from "../analyzer.js";
import { FindingSet } from "../finding.js";
import { NewFile, isCommentLine, isDocPath, isTestPath, languageOf, reviewableFiles } from "./support.js";

/** Ways to turn off TLS certificate or host name verification. */
export const INSECURE_TLS: readonly RegExp[] = [
  /\brejectUnauthorized\s*:\s*false\b/,
  /\bNODE_TLS_REJECT_UNAUTHORIZED\b["']?\s*(?:=|:)\s*["']?0\b/,
  /\bverify\s*=\s*False\b/,
  /\bcheck_hostname\s*=\s*False\b/,
  /\bssl\._create_unverified_context\s*\(/,
  /\bcert_reqs\s*=\s*(?:ssl\.)?CERT_NONE\b/,
  /\bverify_mode\s*=\s*(?:ssl\.|OpenSSL::SSL::)?(?:CERT_NONE|VERIFY_NONE)\b/,
  /\bInsecureSkipVerify\s*:\s*true\b/,
  /\bcurl\b[^\n]*\s(?:-k|--insecure)(?=\s|$)/,
  /\bwget\b[^\n]*\s--no-check-certificate\b/,
  /\bhttp\.sslVerify\s+false\b/,
  /\bstrict-ssl\s*=\s*false\b/,
];

export const insecureTls: Analyzer = {
  angle: "security",
  rule: "security/insecure-tls",
  description:
    "TLS verification disabled: `rejectUnauthorized: false`, `NODE_TLS_REJECT_UNAUTHORIZED=0`, `verify=False`, `InsecureSkipVerify: true`, `curl -k` and the like, outside tests and docs (major).",
  run({ diff, files }) {
    const found = new FindingSet("security/insecure-tls");
    for (const file of reviewableFiles(diff)) {
      if (isTestPath(file.path) || isDocPath(file.path)) continue;
      const language = languageOf(file.path);
      for (const { line, text } of NewFile.of(file, files).added()) {
        if (isCommentLine(text, language) || !INSECURE_TLS.some((pattern) => pattern.test(text))) continue;
        found.add(file.path, line, {
          severity: "major",
          title: "TLS certificate verification disabled",
          rationale:
            "Without certificate verification anyone on the network path can impersonate the server and read or change the traffic, including credentials sent over the connection.",
          suggestion:
            "Keep verification on; for a private certificate authority, trust it explicitly (Node `ca:`/`NODE_EXTRA_CA_CERTS`, Python `verify=\"/path/ca.pem\"`, Go `RootCAs`).",
        });
      }
    }
    return found.findings;
  },
};
