// Version specifiers of the four ecosystems, reduced to what a "major bump" needs: the lowest
// version a specifier allows, and its compatibility line (the major, or 0.minor below 1.0).

export type Ecosystem = "npm" | "pypi" | "go" | "cargo";

const NUMBERS = /^v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?/;

function numbers(text: string): number[] | null {
  const match = NUMBERS.exec(text.trim());
  if (!match) return null;
  return [match[1], match[2], match[3]].filter((part): part is string => part !== undefined).map((part) => (/^\d+$/.test(part) ? Number(part) : 0));
}

/** The first lower-bound comparator of a list ("<" and "!=" bound nothing from below). */
function lowestOf(comparators: string[]): number[] | null {
  for (const raw of comparators) {
    const comparator = raw.trim();
    if (!comparator || comparator.startsWith("<") || comparator.startsWith("!=")) continue;
    const version = comparator.replace(/^(===|==|~=|>=|>|\^|~|=)\s*/, "");
    const parsed = numbers(version);
    if (parsed) return parsed;
  }
  return null;
}

/**
 * The lowest version a specifier allows, as numbers (`^4.2.0` → [4, 2, 0], `>=2.31,<3` → [2, 31]);
 * for npm alternatives (`^17 || ^18`) the highest of their lower bounds. Null when it names no
 * version: `*`, `latest`, git/URL/path/workspace sources.
 */
export function lowestVersion(spec: string, ecosystem: Ecosystem): number[] | null {
  let text = spec.trim();
  if (!text) return null;
  switch (ecosystem) {
    case "npm": {
      if (text.startsWith("npm:")) text = text.slice(text.lastIndexOf("@") + 1);
      if (/^[a-z+]+:|\//i.test(text)) return null;
      let best: number[] | null = null;
      for (const alternative of text.split("||")) {
        const hyphen = /^\s*(\S+)\s+-\s+\S+\s*$/.exec(alternative);
        const comparators = hyphen ? [hyphen[1]!] : alternative.replace(/([<>=~^]+)\s+/g, "$1").split(/\s+/);
        const lowest = lowestOf(comparators);
        if (lowest && (!best || compareLines(line(lowest), line(best)) > 0)) best = lowest;
      }
      return best;
    }
    case "pypi":
    case "cargo":
      if (/^[a-z+]+:|@/i.test(text)) return null;
      return lowestOf(text.split(","));
    case "go":
      return numbers(text);
  }
}

/** The compatibility line of a version: [major, 0] from 1.0 on, [0, minor] before. */
export function line(version: readonly number[]): [number, number] {
  const [major = 0, minor = 0] = version;
  return major > 0 ? [major, 0] : [0, minor];
}

function compareLines(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** "3", or "0.4" below 1.0: how a compatibility line reads in a message. */
export function describeLine(version: readonly number[]): string {
  const [major, minor] = line(version);
  return major > 0 ? String(major) : `0.${minor}`;
}

/** Whether going from one specifier to the other moves to a newer compatibility line (a breaking upgrade under semver). */
export function isMajorBump(before: string, after: string, ecosystem: Ecosystem): { from: number[]; to: number[] } | null {
  const from = lowestVersion(before, ecosystem);
  const to = lowestVersion(after, ecosystem);
  if (!from || !to) return null;
  return compareLines(line(to), line(from)) > 0 ? { from, to } : null;
}
