import { z } from "zod";
import { InvalidEnvironmentError } from "../../env.js";
import { ScheduleDuration, scheduleDurationMs } from "../../schedules/schema.js";

const off = z.union([z.literal("0"), z.literal("off")]).transform(() => 0);
const period = (fallback: string) => z.union([off, ScheduleDuration.transform(scheduleDurationMs)]).default(scheduleDurationMs(fallback));

/** Operator settings of schedules and housekeeping, from the environment (durations; 0 or off disables a job). */
export const ScheduleEnv = z.object({
  /** The shortest period a repository schedule may have. */
  CONVEYOR_SCHEDULE_MIN_PERIOD: ScheduleDuration.transform(scheduleDurationMs).default(scheduleDurationMs("5m")),
  /** How often the webhook delivery reconciler runs. */
  CONVEYOR_RECONCILE_EVERY: period("5m"),
  /** Redeliveries the reconciler asks for per pass. */
  CONVEYOR_RECONCILE_MAX: z.coerce.number().int().min(1).max(500).default(20),
  /** How often cancelled and expired runs are cleaned up (per each repository's `cleanup:` config). */
  CONVEYOR_CLEANUP_EVERY: period("1h"),
  /** How often every installed repository's schedules are read again (besides push and installation webhooks). */
  CONVEYOR_RESYNC_EVERY: period("1d"),
});
export type ScheduleSettings = z.infer<typeof ScheduleEnv>;

export class InvalidScheduleSettingsError extends InvalidEnvironmentError {
  override name = "InvalidScheduleSettingsError";
}

export function readScheduleSettings(env: NodeJS.ProcessEnv = process.env): ScheduleSettings {
  const parsed = ScheduleEnv.safeParse(Object.fromEntries(Object.entries(env).filter(([key, value]) => key in ScheduleEnv.shape && value !== "")));
  if (!parsed.success) {
    throw new InvalidScheduleSettingsError(`conveyor: the environment is invalid:\n${parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n")}`);
  }
  return parsed.data;
}
