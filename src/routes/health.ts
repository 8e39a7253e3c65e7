import { Hono } from "hono";
import type { AppEnv } from "../http.ts";
import { sameSecret } from "../services/secrets.ts";
import { freeBytes } from "../services/storage.ts";


export const healthRoutes = new Hono<AppEnv>()
  .get("/healthz", (c) => c.text("ok"))
  .get("/readyz", (c) => {
    const { db, config } = c.get("deps");
    try {
      db.$client.query("SELECT 1").get();
    } catch {
      return c.text("database unavailable", 503);
    }
    const free = freeBytes(config.DATA_DIR);
    if (free !== null && free < config.DISK_MIN_FREE_MB * 1024 * 1024) {
      return c.text(`low disk space: ${Math.floor(free / 1024 / 1024)} MB free in DATA_DIR, below DISK_MIN_FREE_MB=${config.DISK_MIN_FREE_MB}`, 503);
    }
    return c.text("ok");
  })
  .get("/metrics", (c) => {
    const { config, metrics, db } = c.get("deps");
    if (!config.METRICS_TOKEN) return c.notFound();
    const given = c.req.header("Authorization")?.replace(/^Bearer\s+/i, "") ?? "";
    if (!sameSecret(given, config.METRICS_TOKEN)) {
      return c.text("missing or wrong bearer token", 401, { "WWW-Authenticate": 'Bearer realm="metrics"' });
    }
    return c.text(metrics.render(db, freeBytes(config.DATA_DIR)), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
