import css from "../static/app.css" with { type: "text" };
import favicon from "../static/favicon.svg" with { type: "text" };
import htmx from "../static/htmx-4.0.1.min.js" with { type: "text" };

type Asset = { body: string; contentType: string };

const hash = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 10);

// Embedded in the executable; URLs carry the version or a content hash, so they are cached for good.
export const assets: Record<string, Asset> = {
  "htmx-4.0.1.min.js": { body: htmx, contentType: "text/javascript; charset=utf-8" },
  [`app-${hash(css)}.css`]: { body: css, contentType: "text/css; charset=utf-8" },
  [`favicon-${hash(favicon)}.svg`]: { body: favicon, contentType: "image/svg+xml" },
};

const urlOf = (prefix: string) => `/static/${Object.keys(assets).find((name) => name.startsWith(prefix))}`;
export const HTMX_URL = urlOf("htmx-");
export const CSS_URL = urlOf("app-");
export const FAVICON_URL = urlOf("favicon-");
