import { Hono } from "hono";
import type { AppEnv } from "../http.ts";

export const healthRoutes = new Hono<AppEnv>()
  .get("/healthz", (c) => c.text("ok"))
  .get("/readyz", (c) => {
    try {
      c.get("deps").db.$client.query("SELECT 1").get();
      return c.text("ok");
    } catch {
      return c.text("database unavailable", 503);
    }
  });
