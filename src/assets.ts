import css from "../static/app.css" with { type: "text" };
import appJs from "../static/app.js" with { type: "text" };
import favicon from "../static/favicon.svg" with { type: "text" };
import htmx from "../static/htmx-4.0.1.min.js" with { type: "text" };

type Asset = { body: string; contentType: string };

const hash = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 10);

// Embedded in the executable; names carry the version or a content hash, so they are cached for good.
const names = {
  htmx: "htmx-4.0.1.min.js",
  css: `app-${hash(css)}.css`,
  js: `app-${hash(appJs)}.js`,
  favicon: `favicon-${hash(favicon)}.svg`,
};

// A Map, so that a name such as `__proto__` or `toString` is just not found.
export const assets = new Map<string, Asset>([
  [names.htmx, { body: htmx, contentType: "text/javascript; charset=utf-8" }],
  [names.css, { body: css, contentType: "text/css; charset=utf-8" }],
  [names.js, { body: appJs, contentType: "text/javascript; charset=utf-8" }],
  [names.favicon, { body: favicon, contentType: "image/svg+xml" }],
]);

export const HTMX_URL = `/static/${names.htmx}`;
export const CSS_URL = `/static/${names.css}`;
export const APP_JS_URL = `/static/${names.js}`;
export const FAVICON_URL = `/static/${names.favicon}`;
