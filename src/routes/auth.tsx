import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { LoginPage, SecondStepPage } from "../../views/pages/login.tsx";
import { clientAddress, LOGIN_CSRF_COOKIE, pageContext, sessionCookie, type AppEnv } from "../http.ts";
import { createSession, deleteSession, signIn } from "../services/auth.ts";
import { recordAudit } from "../services/audit.ts";
import { checkSecondFactor } from "../services/two-factor.ts";

const loginForm = z.object({
  email: z.string().trim().max(320),
  password: z.string().max(1024),
  next: z.string().optional(),
});

const secondStepForm = z.object({ codice: z.string().max(64), next: z.string().max(2048).optional() });

const BASE = "http://placement.invalid";

/** A fresh session id in place of any the browser had: nobody can plant one before the sign-in. */
function startSession(c: Context<AppEnv>, userId: number, pending: boolean): void {
  const { db, clock, config } = c.get("deps");
  const cookie = sessionCookie(config);
  const oldToken = getCookie(c, cookie.name);
  if (oldToken) deleteSession(db, oldToken);
  const session = createSession(db, clock, userId, pending);
  setCookie(c, cookie.name, session.token, cookie.options);
  deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/" });
}

/**
 * Only a path into one of this site's sections (`sections` are their prefixes, such as
 * "/progetti"), so that the sign-in page cannot send anyone elsewhere.
 */
function safeNext(next: string | undefined, sections: readonly string[]): string {
  if (!next) return "/";
  let url: URL;
  try {
    // Resolved as a browser would (dropping tabs and newlines, reading `\` as `/`, removing
    // dot segments), so that what is checked is the path the browser will ask for.
    url = new URL(next, BASE);
  } catch {
    return "/";
  }
  const path = url.pathname;
  if (url.origin !== BASE || !path.startsWith("/") || path.startsWith("//")) return "/";
  const section = `/${path.split("/")[1]}`;
  return path === "/" || sections.includes(section) ? `${path}${url.search}` : "/";
}

const seconds = (n: number) => (n === 1 ? "1 secondo" : `${n} secondi`);

const REFUSED = {
  // One sentence for an unknown e-mail and a wrong password alike.
  invalid: "E-mail o password non corrette. Controlla i dati e riprova.",
  disabled: "La tua utenza è disabilitata. Rivolgiti al Responsabile Politiche Attive della tua agenzia o al Fondo.",
  agency_disabled: "La tua agenzia è disabilitata in Placement. Rivolgiti al Fondo per farla riattivare.",
};

/** Sign-in and sign-out; after signing in, back to a page under one of `sections`. */
export const authRoutes = (sections: readonly string[]) =>
  new Hono<AppEnv>()
    .get("/login", (c) => {
      if (c.get("user")) return c.redirect("/", 303);
      return c.html(<LoginPage ctx={pageContext(c, "Accesso")} next={c.req.query("next")} />);
    })
    .post("/login", async (c) => {
      const { db, clock } = c.get("deps");
      const parsed = loginForm.safeParse(await c.req.parseBody());
      const form = parsed.success ? parsed.data : { email: "", password: "", next: undefined };
      const address = clientAddress(c);
      const result = await signIn(db, clock, { email: form.email, password: form.password, address });
      if (!result.ok) {
        recordAudit(db, clock, { action: "login_failed", target: form.email.toLowerCase(), address });
        const error =
          result.reason === "throttled"
            ? `Troppi tentativi di accesso non riusciti. Riprova tra ${seconds(result.retryAfterSeconds)}.`
            : REFUSED[result.reason];
        if (result.reason === "throttled") c.header("Retry-After", String(result.retryAfterSeconds));
        const status = result.reason === "throttled" ? 429 : 401;
        return c.html(
          <LoginPage ctx={pageContext(c, "Accesso")} email={form.email} error={error} next={form.next} />,
          status,
        );
      }
      // With a second factor, the password opens only the second step.
      const pending = result.user.totpSecret !== null;
      startSession(c, result.user.id, pending);
      if (pending) {
        recordAudit(db, clock, { action: "login_password_ok", userId: result.user.id, agencyId: result.user.agencyId, address });
        return c.redirect(`/login/codice${form.next ? `?next=${encodeURIComponent(safeNext(form.next, sections))}` : ""}`, 303);
      }
      recordAudit(db, clock, { action: "login", userId: result.user.id, agencyId: result.user.agencyId, address });
      return c.redirect(safeNext(form.next, sections), 303);
    })
    .get("/login/codice", (c) => {
      if (!c.get("secondStep")) return c.redirect("/login", 303);
      c.header("Cache-Control", "private, no-store");
      return c.html(<SecondStepPage ctx={pageContext(c, "Verifica in due passaggi")} next={c.req.query("next")} />);
    })
    .post("/login/codice", async (c) => {
      const { db, clock } = c.get("deps");
      const user = c.get("secondStep");
      if (!user) return c.redirect("/login", 303);
      const parsed = secondStepForm.safeParse(await c.req.parseBody());
      const form = parsed.success ? parsed.data : { codice: "", next: undefined };
      const address = clientAddress(c);
      const check = checkSecondFactor(db, clock, user.id, form.codice, address);
      if (!check.ok) {
        recordAudit(db, clock, { action: "second_factor_failed", userId: user.id, agencyId: user.agencyId, address });
        if (check.throttled) c.header("Retry-After", String(check.retryAfterSeconds));
        return c.html(<SecondStepPage ctx={pageContext(c, "Verifica in due passaggi")} error={check.error} next={form.next} />, check.throttled ? 429 : 401);
      }
      startSession(c, user.id, false);
      recordAudit(db, clock, { action: "login", userId: user.id, agencyId: user.agencyId, address, detail: { secondFactor: check.recovery ? "recovery_code" : "totp" } });
      return c.redirect(safeNext(form.next, sections), 303);
    })
    .post("/logout", (c) => {
      const { db, config } = c.get("deps");
      const cookie = sessionCookie(config);
      const token = getCookie(c, cookie.name);
      if (token) deleteSession(db, token);
      deleteCookie(c, cookie.name, { path: "/", secure: cookie.options.secure });
      return c.redirect("/login", 303);
    });
