import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { ErrorNotice, ErrorPage } from "../views/pages/error.tsx";
import {
  isHtmx,
  LOGIN_CSRF_COOKIE,
  pageContext,
  readMultipart,
  sessionCookie,
  tooLargeMessage,
  type AppEnv,
} from "./http.ts";
import type { Deps } from "./deps.ts";
import { adminRoutes } from "./routes/admin.tsx";
import { API_PREFIX, apiRoutes } from "./routes/api.ts";
import { authRoutes } from "./routes/auth.tsx";
import { fundRoutes } from "./routes/fund.tsx";
import { healthRoutes } from "./routes/health.ts";
import { placementRoutes } from "./routes/placement.tsx";
import { profileRoutes } from "./routes/profile.tsx";
import { userRoutes } from "./routes/users.tsx";
import { projectRoutes } from "./routes/projects.tsx";
import { staticRoutes } from "./routes/static.ts";
import { isFundOperator, loadSession } from "./services/auth.ts";
import { scopeOf } from "./services/scope.ts";
import { secondFactorRequired } from "./services/two-factor.ts";
import { randomToken, sameSecret } from "./services/secrets.ts";
import { isStorageFull, STORAGE_FULL_MESSAGE } from "./services/storage.ts";

const STATUS_MESSAGES: Record<number, string> = {
  401: "Devi accedere per vedere questa pagina.",
  403: "Non hai i permessi per questa operazione.",
  404: "La pagina o l'oggetto richiesto non esiste, oppure non appartiene alla tua agenzia.",
  413: "Il file inviato è troppo grande.",
};

const CSRF_MESSAGE =
  "La pagina è scaduta o la richiesta non proviene da Placement. Ricarica la pagina e ripeti l'operazione.";


async function providedCsrfToken(c: Context<AppEnv>): Promise<string> {
  const header = c.req.header("X-CSRF-Token");
  if (header) return header;
  const type = c.req.header("Content-Type") ?? "";
  if (type.startsWith("application/x-www-form-urlencoded")) {
    const value = (await c.req.parseBody())["_csrf"];
    return typeof value === "string" ? value : "";
  }
  if (type.startsWith("multipart/form-data")) {
    // An upload without JavaScript: its token is inside the body, read within the size limit.
    const form = await readMultipart(c);
    if (!form) throw new HTTPException(413, { message: tooLargeMessage(c.get("deps").config.UPLOAD_MAX_MB) });
    const value = form.get("_csrf");
    return typeof value === "string" ? value : "";
  }
  return "";
}

export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const started = performance.now();
    c.set("deps", deps);
    c.set("requestId", randomToken().slice(0, 12));
    c.set("user", null);
    c.set("scope", null);
    c.set("secondStep", null);
    c.set("secondFactorRequired", false);
    c.set("sessionId", null);
    c.set("agencyName", null);
    c.set("multipart", null);
    c.set("apiToken", null);
    await next();
    const path = new URL(c.req.url).pathname;
    if (path.startsWith("/static/") || path === "/healthz" || path === "/metrics") return;
    const ms = performance.now() - started;
    deps.metrics.observeRequest(c.req.method, c.res.status, ms / 1000);
    deps.log.info("request", {
      id: c.get("requestId"),
      method: c.req.method,
      path,
      status: c.res.status,
      ms: Math.round(ms),
      user: c.get("user")?.id,
    });
  });

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      referrerPolicy: "same-origin",
      xFrameOptions: "DENY",
      strictTransportSecurity: deps.config.BASE_URL.startsWith("https://") ? "max-age=31536000" : false,
    }),
  );

  app.route("/static", staticRoutes);
  app.route("/", healthRoutes);
  // Before the session: the API answers to its bearer token only, never to a cookie.
  app.route(API_PREFIX, apiRoutes);

  app.use(async (c, next) => {
    const cookie = sessionCookie(deps.config);
    const token = getCookie(c, cookie.name);
    const session = token
      ? loadSession(deps.db, deps.clock, token, {
          idleMs: deps.config.SESSION_IDLE_MINUTES * 60_000,
          absoluteMs: deps.config.SESSION_MAX_HOURS * 3_600_000,
        })
      : null;
    if (session) c.set("sessionId", session.idHash);
    if (session?.pending) {
      c.set("secondStep", session.user);
      c.set("csrfToken", session.csrfToken);
    } else if (session) {
      const scope = scopeOf(session.user);
      c.set("secondFactorRequired", secondFactorRequired(session.user, session.agencyRequiresTwoFactor, deps.config.DEMO));
      c.set("user", session.user);
      c.set("scope", scope);
      c.set("csrfToken", session.csrfToken);
      c.set("agencyName", session.agencyName);
    } else {
      // Signed-out forms (the sign-in form) are protected by a double-submit cookie.
      let loginToken = getCookie(c, LOGIN_CSRF_COOKIE);
      if (!loginToken) {
        loginToken = randomToken();
        setCookie(c, LOGIN_CSRF_COOKIE, loginToken, {
          path: "/",
          httpOnly: true,
          sameSite: "Strict",
          secure: cookie.options.secure,
        });
      }
      c.set("csrfToken", loginToken);
    }
    if (!["GET", "HEAD", "OPTIONS"].includes(c.req.method)) {
      if (!sameSecret(await providedCsrfToken(c), c.get("csrfToken"))) throw new HTTPException(403, { message: CSRF_MESSAGE });
    }
    await next();
  });

  // Until a step of signing in is done, only its page opens: the second factor after the
  // password, then a new password after a one-time one, then enrolling a second factor
  // where it is required (also for a user already signed in when the fund asks for it):
  // then Profilo itself and its enrolment, not the rest of Profilo (an API token would
  // skip the second factor).
  app.use(async (c, next) => {
    const user = c.get("user");
    const path = new URL(c.req.url).pathname;
    const within = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
    const [only, opens] = c.get("secondStep")
      ? ["/login/codice", within("/login/codice")]
      : user?.mustChangePassword
        ? ["/profilo/password", within("/profilo/password")]
        : user && c.get("secondFactorRequired") && !user.totpSecret
          ? ["/profilo", path === "/profilo" || path === "/profilo/" || within("/profilo/due-passaggi")]
          : [null, true];
    if (only && path !== "/logout" && !opens) {
      if (isHtmx(c)) {
        c.header("HX-Redirect", only);
        return c.body(null, 204);
      }
      return c.redirect(only, 303);
    }
    await next();
  });

  app.get("/", (c) => {
    const user = c.get("user");
    if (!user) return c.redirect("/login", 303);
    return c.redirect(isFundOperator(user) ? "/fondo" : "/progetti", 303);
  });
  const sections = [
    ["/progetti", projectRoutes],
    ["/placement", placementRoutes],
    ["/fondo", fundRoutes],
    ["/profilo", profileRoutes],
    ["/utenti", userRoutes],
    ["/amministrazione", adminRoutes],
  ] as const;
  app.route("/", authRoutes(sections.map(([prefix]) => prefix)));
  for (const [prefix, routes] of sections) app.route(prefix, routes);

  const renderError = (c: Context<AppEnv>, status: number, message: string) => {
    c.status(status as 400);
    if (isHtmx(c)) return c.html(<ErrorNotice status={status} message={message} />);
    return c.html(<ErrorPage ctx={pageContext(c, `Errore ${status}`)} status={status} message={message} />);
  };

  app.notFound((c) => renderError(c, 404, STATUS_MESSAGES[404]!));

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      if (error.status === 401) return c.redirect("/login", 303);
      return renderError(c, error.status, error.message || STATUS_MESSAGES[error.status] || "Richiesta non valida.");
    }
    if (isStorageFull(error)) {
      deps.log.error("storage full: nothing could be saved", { id: c.get("requestId"), error: String(error) });
      c.header("Retry-After", "60");
      return renderError(c, 503, STORAGE_FULL_MESSAGE);
    }
    deps.log.error("unhandled error", { id: c.get("requestId"), error: error.stack ?? String(error) });
    return renderError(
      c,
      500,
      `Si è verificato un errore imprevisto. Riprova tra qualche minuto; se si ripete, comunica al Fondo il codice ${c.get("requestId")}.`,
    );
  });

  return app;
}
