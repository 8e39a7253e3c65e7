import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { AppEnv } from "../http.ts";

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export const healthRoutes = new Hono<AppEnv>()
  .get("/healthz", (c) => c.text("ok"))
  .get("/readyz", (c) => {
    try {
      c.get("deps").db.$client.query("SELECT 1").get();
      return c.text("ok");
    } catch {
      return c.text("database unavailable", 503);
    }
  })
  .get("/metrics", (c) => {
    const { config, metrics, db } = c.get("deps");
    if (!config.METRICS_TOKEN) return c.notFound();
    const given = c.req.header("Authorization")?.replace(/^Bearer\s+/i, "") ?? "";
    if (!sameSecret(given, config.METRICS_TOKEN)) {
      return c.text("missing or wrong bearer token", 401, { "WWW-Authenticate": 'Bearer realm="metrics"' });
    }
    return c.text(metrics.render(db), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
