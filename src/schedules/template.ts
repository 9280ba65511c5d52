// Title and body templates of scheduled issues: `{{name}}` placeholders, nothing else (no
// expressions, no code). Pure: the values are computed from the firing, not from a clock.

export const TEMPLATE_PLACEHOLDERS = ["date", "time", "datetime", "week", "iso", "schedule", "repo", "summary"] as const;
export type Placeholder = (typeof TEMPLATE_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;

export function unknownPlaceholders(template: string): string[] {
  const unknown = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(match[1]!)) unknown.add(match[1]!);
  }
  return [...unknown];
}

export function renderTemplate(template: string, values: Record<Placeholder, string>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => ((TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as Placeholder] : whole));
}

/** Calendar parts of an instant in a time zone. */
export function zonedParts(ms: number, timeZone: string): { year: string; month: string; day: string; hour: string; minute: string; zone: string } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return { year: part("year"), month: part("month"), day: part("day"), hour: part("hour"), minute: part("minute"), zone: part("timeZoneName") };
}

/** `2026-11-23 09:00 GMT+1` in the schedule's time zone. */
export function formatInZone(ms: number, timeZone: string): string {
  const p = zonedParts(ms, timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.zone}`;
}

/** ISO 8601 week number of the calendar date in the time zone. */
export function isoWeek(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone);
  const date = new Date(Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
}

export interface TemplateContext {
  scheduleId: string;
  repo: string;
  scheduledFor: number;
  timeZone: string;
  summary: string;
}

export function templateValues(context: TemplateContext): Record<Placeholder, string> {
  const p = zonedParts(context.scheduledFor, context.timeZone);
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    time: `${p.hour}:${p.minute}`,
    datetime: formatInZone(context.scheduledFor, context.timeZone),
    week: String(isoWeek(context.scheduledFor, context.timeZone)),
    iso: new Date(context.scheduledFor).toISOString(),
    schedule: context.scheduleId,
    repo: context.repo,
    summary: context.summary,
  };
}
