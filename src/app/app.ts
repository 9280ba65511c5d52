import type { ApplicationFunction } from "probot";
import type { Redis } from "ioredis";
import type { Queues } from "../queue/queues.js";
import { healthzHandler } from "./healthz.js";
import { HANDLED_EVENTS } from "./route-webhook.js";
import type { Ingress } from "./ingress.js";
import { metricsHandler, type Metrics } from "../metrics.js";
import { dashboardHandler, type DashboardOptions } from "./dashboard/dashboard.js";
import { SCHEDULE_EVENTS, type ScheduleIngress } from "./schedules/ingress.js";

/**
 * The Probot app: thin handlers that hand every delivery to ingress, plus `/healthz`.
 * Probot has verified the signature before any handler runs (bad ones get 400).
 */
export function conveyorApp(deps: { ingress: Ingress; redis: Redis; queues: Queues; metrics?: Metrics; dashboard?: DashboardOptions; schedules?: ScheduleIngress }): ApplicationFunction {
  return (app, { addHandler }) => {
    app.on([...HANDLED_EVENTS], async (context) => {
      const started = performance.now();
      let outcome = "error";
      try {
        outcome = (await deps.ingress.accept({ id: context.id, name: context.name, payload: context.payload })).status;
      } finally {
        deps.metrics?.observeDelivery(context.name, outcome, (performance.now() - started) / 1000);
      }
    });
    // Schedules: config pushes, installations and `/conveyor schedules` comments become schedule jobs.
    const schedules = deps.schedules;
    if (schedules) app.on([...SCHEDULE_EVENTS], async (context) => void (await schedules.accept({ id: context.id, name: context.name, payload: context.payload })));
    addHandler(healthzHandler(deps.redis, deps.queues));
    if (deps.metrics) addHandler(metricsHandler(deps.metrics));
    if (deps.dashboard) addHandler(dashboardHandler(deps.dashboard));
  };
}
