import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { PageContext, Section } from "../views/context.ts";
import type { Config } from "./config.ts";
import type { Deps } from "./deps.ts";
import { hasPlacementPermission, isFundOperator, type User } from "./services/auth.ts";
import { managesAgencyUsers, permissionRequest } from "./services/admin.ts";
import type { Scope } from "./services/scope.ts";
import { unsealedStream } from "./services/sealed-files.ts";

export type AppEnv = {
  // Under Bun.serve the second argument of fetch is the server.
  Bindings: { requestIP?: (request: Request) => { address: string } | null };
  Variables: {
    deps: Deps;
    requestId: string;
    user: User | null;
    // The stored id of the request's session, when it has one.
    sessionId: string | null;
    // Whose password was right, while the second step is awaited; `user` stays null.
    secondStep: User | null;
    // The signed-in user must have a second factor (and may not remove it).
    secondFactorRequired: boolean;
    agencyName: string | null;
    scope: Scope | null;
    csrfToken: string;
    multipart: FormData | null;
    // The API token the request came with (then `user` is its user); null on the pages.
    apiToken: { id: number; name: string } | null;
  };
};

export const isHtmx = (c: Context<AppEnv>) => c.req.header("HX-Request") === "true";

/** Page requests go to the sign-in page; htmx requests are told to go there. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("user")) {
    const next = encodeURIComponent(new URL(c.req.url).pathname);
    if (isHtmx(c)) {
      c.header("HX-Redirect", `/login?next=${next}`);
      return c.body(null, 401);
    }
    return c.redirect(`/login?next=${next}`, 303);
  }
  await next();
});

export const requirePlacementPermission = createMiddleware<AppEnv>(async (c, next) => {
  const user = signedInUser(c);
  if (!hasPlacementPermission(user)) throw new HTTPException(403, { message: permissionRequest(c.get("deps").db, user.agencyId) });
  await next();
});

/** Fund pages do not exist for agency users. */
export const requireFundOperator = createMiddleware<AppEnv>(async (c, next) => {
  if (!isFundOperator(signedInUser(c))) throw new HTTPException(404);
  await next();
});

export function signedInUser(c: Context<AppEnv>): User {
  const user = c.get("user");
  if (!user) throw new HTTPException(401);
  return user;
}

export function signedInScope(c: Context<AppEnv>): Scope {
  const scope = c.get("scope");
  if (!scope) throw new HTTPException(401);
  return scope;
}

export function notFound(): never {
  throw new HTTPException(404);
}

/** A positive integer route parameter, or 404. */
export function idParam(c: Context<AppEnv>, name: string): number {
  const raw = c.req.param(name) ?? "";
  const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(id) ? id : notFound();
}

export function pageContext(c: Context<AppEnv>, title: string, section?: Section): PageContext {
  const user = c.get("user");
  return {
    title,
    section,
    csrfToken: c.get("csrfToken"),
    agencyName: c.get("agencyName"),
    user: user && {
      name: user.name,
      email: user.email,
      role: user.role,
      canPlacement: hasPlacementPermission(user),
      isFund: isFundOperator(user),
      managesUsers: managesAgencyUsers(user),
    },
  };
}

export const LOGIN_CSRF_COOKIE = "placement_login_csrf";

/** The session cookie: `__Host-` prefixed and Secure when the public address is https. */
export function sessionCookie(config: Config) {
  const secure = config.BASE_URL.startsWith("https://");
  return {
    name: secure ? "__Host-placement_session" : "placement_session",
    options: { path: "/", httpOnly: true, sameSite: "Lax", secure } as const,
  };
}

/** The caller's address; behind a reverse proxy (TRUST_PROXY=1) the one the proxy saw. */
export function clientAddress(c: Context<AppEnv>): string {
  if (c.get("deps").config.TRUST_PROXY) {
    const forwarded = c.req.header("X-Forwarded-For")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  return c.env?.requestIP?.(c.req.raw)?.address ?? "unknown";
}

/**
 * The multipart form of the request, read with the upload limit enforced while the bytes
 * arrive; null when the body is larger than the limit.
 */
export async function readMultipart(c: Context<AppEnv>): Promise<FormData | null> {
  const cached = c.get("multipart");
  if (cached) return cached;
  const maxBytes = uploadBodyBytes(c.get("deps").config);
  if (Number(c.req.header("Content-Length") ?? 0) > maxBytes) return null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = c.req.raw.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader!.read()) {
    total += read.value.length;
    if (total > maxBytes) {
      await reader!.cancel();
      return null;
    }
    chunks.push(read.value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  const form = await new Response(body, { headers: { "Content-Type": c.req.header("Content-Type") ?? "" } }).formData();
  c.set("multipart", form);
  return form;
}

// Room for the multipart boundaries and the other fields beside the file.
const MULTIPART_OVERHEAD = 64 * 1024;

/** The largest body an upload may have: the file's limit and room for the form around it. */
export const uploadBodyBytes = (config: Pick<Config, "UPLOAD_MAX_MB">) => config.UPLOAD_MAX_MB * 1024 * 1024 + MULTIPART_OVERHEAD;

export const tooLargeMessage = (maxMb: number) =>
  `Il file supera il limite di ${maxMb} MB: dividilo in più file oppure elimina fogli e righe non necessari, poi ricaricalo.`;

/** A file of the data folder, unsealed as it is sent; a HEAD gets the headers and opens nothing. */
export function attachment(c: Context<AppEnv>, path: string, name: string, contentType: string): Response {
  const headers = {
    "Content-Type": contentType,
    "Content-Disposition": `attachment; filename="${name}"`,
    "Cache-Control": "private, no-store",
  };
  if (c.req.method === "HEAD") return new Response(null, { headers });
  return new Response(unsealedStream(path, c.get("deps").keys), { headers });
}
