import type { ApplicationFunction } from "probot";
import type { Redis } from "ioredis";
import type { Queues } from "../queue/queues.js";
import { healthzHandler } from "./healthz.js";
import { HANDLED_EVENTS } from "./route-webhook.js";
import type { Ingress } from "./ingress.js";

/**
 * The Probot app: thin handlers that hand every delivery to ingress, plus `/healthz`.
 * Probot has verified the signature before any handler runs (bad ones get 400).
 */
export function conveyorApp(deps: { ingress: Ingress; redis: Redis; queues: Queues }): ApplicationFunction {
  return (app, { addHandler }) => {
    app.on([...HANDLED_EVENTS], async (context) => {
      await deps.ingress.accept({ id: context.id, name: context.name, payload: context.payload });
    });
    addHandler(healthzHandler(deps.redis, deps.queues));
  };
}
