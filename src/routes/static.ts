import { Hono } from "hono";
import { assets } from "../assets.ts";
import type { AppEnv } from "../http.ts";

export const staticRoutes = new Hono<AppEnv>().get("/:name", (c) => {
  const asset = assets.get(c.req.param("name"));
  if (!asset) return c.notFound();
  return c.body(asset.body, 200, {
    "Content-Type": asset.contentType,
    "Cache-Control": "public, max-age=31536000, immutable",
  });
});
