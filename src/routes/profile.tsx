import { Hono, type Context } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { PasswordPage } from "../../views/pages/password.tsx";
import { ApiDocsPage } from "../../views/pages/api-docs.tsx";
import { ProfilePage, type SecondFactorState } from "../../views/pages/profile.tsx";
import type { TokenSectionState } from "../../views/partials/api-tokens.tsx";
import { clientAddress, idParam, notFound, pageContext, requireUser, sessionCookie, signedInUser, type AppEnv } from "../http.ts";
import { createApiToken, DEFAULT_TOKEN_DAYS, listApiTokens, MAX_TOKEN_DAYS, revokeApiToken, tokenRefusal } from "../services/api-tokens.ts";
import { recordAudit } from "../services/audit.ts";
import { permissionRequest } from "../services/admin.ts";
import { changePassword, clearFailures, createSession, hasPlacementPermission, recordFailure, throttleWaitMs, type User } from "../services/auth.ts";
import { apiDocument } from "./api.ts";
import {
  checkSecondFactor,
  confirmEnrolment,
  pendingEnrolment,
  recoveryCodesLeft,
  replaceRecoveryCodes,
  resetSecondFactor,
  startEnrolment,
} from "../services/two-factor.ts";

const passwordForm = z.object({ attuale: z.string().max(1024), nuova: z.string().max(1024), ripeti: z.string().max(1024) });
const codeForm = z.object({ codice: z.string().max(64) });
const tokenForm = z.object({ nome: z.string().max(200).default(""), giorni: z.string().max(10).default(""), password: z.string().max(1024).default("") });

/** Why the user's Profilo offers no tokens; without the permission, the page names whom to ask for it. */
function tokenSectionRefusal(c: Context<AppEnv>, user: User): string | null {
  if (user.agencyId !== null && !hasPlacementPermission(user)) {
    return `${permissionRequest(c.get("deps").db, user.agencyId)} Con il permesso potrai creare token API.`;
  }
  return tokenRefusal(user, c.get("secondFactorRequired"));
}

/** The Profilo page as the user's second factor stands; `state` when something is under way. */
function profilePage(
  c: Context<AppEnv>,
  user: User,
  extra: { state?: SecondFactorState; error?: string; notice?: string; tokens?: Partial<TokenSectionState> } = {},
  status: 200 | 401 | 422 | 429 = 200,
) {
  const { db, clock } = c.get("deps");
  const state: SecondFactorState = extra.state ?? (user.totpSecret ? { kind: "on", recoveryCodesLeft: recoveryCodesLeft(db, user.id) } : { kind: "off" });
  // The fund's operators have no tokens of their own: they see everyone's under Amministrazione.
  const tokens =
    user.agencyId === null
      ? undefined
      : {
          state: { tokens: listApiTokens(db, clock, user.id), refusal: tokenSectionRefusal(c, user), ...extra.tokens },
          now: clock.now(),
          defaultDays: DEFAULT_TOKEN_DAYS,
          maxDays: MAX_TOKEN_DAYS,
        };
  return c.html(
    <ProfilePage ctx={pageContext(c, "Profilo")} required={c.get("secondFactorRequired")} state={state} error={extra.error} notice={extra.notice} tokens={tokens} />,
    status,
  );
}

/** The page that refuses the posted code of the user's second factor (audited, throttled); null when it is right. */
async function refusedCode(c: Context<AppEnv>, user: User) {
  const { db, clock } = c.get("deps");
  const form = codeForm.safeParse(await c.req.parseBody());
  const address = clientAddress(c);
  const check = checkSecondFactor(db, clock, user.id, form.success ? form.data.codice : "", address);
  if (check.ok) return null;
  recordAudit(db, clock, { action: "second_factor_failed", userId: user.id, agencyId: user.agencyId, address });
  if (check.throttled) c.header("Retry-After", String(check.retryAfterSeconds));
  return profilePage(c, user, { error: check.error }, check.throttled ? 429 : 422);
}

/** Goes on under a fresh session, the user's others having ended. */
function continueWith(c: Context<AppEnv>, session: { token: string; csrfToken: string }) {
  const cookie = sessionCookie(c.get("deps").config);
  setCookie(c, cookie.name, session.token, cookie.options);
  c.set("csrfToken", session.csrfToken);
}

export const profileRoutes = new Hono<AppEnv>()
  .use(requireUser)
  // The pages show the second factor's key and recovery codes: never kept by a cache.
  .use(async (c, next) => {
    await next();
    c.header("Cache-Control", "private, no-store");
  })
  .get("/", (c) => profilePage(c, signedInUser(c)))
  .post("/due-passaggi", async (c) => {
    const user = signedInUser(c);
    if (user.totpSecret) return profilePage(c, user);
    return profilePage(c, user, { state: { kind: "off", enrolment: await startEnrolment(c.get("deps").db, c.get("sessionId")!, user) } });
  })
  .post("/due-passaggi/conferma", async (c) => {
    const { db, clock } = c.get("deps");
    const user = signedInUser(c);
    const form = codeForm.safeParse(await c.req.parseBody());
    const address = clientAddress(c);
    const result = confirmEnrolment(db, clock, c.get("sessionId")!, user, form.success ? form.data.codice : "", address);
    if (!result.ok) {
      recordAudit(db, clock, { action: "two_factor_enrol_failed", userId: user.id, agencyId: user.agencyId, address });
      if (result.throttled) c.header("Retry-After", String(result.retryAfterSeconds));
      const enrolment = await pendingEnrolment(db, c.get("sessionId")!, user);
      return profilePage(c, user, { state: { kind: "off", enrolment: enrolment ?? undefined }, error: result.error }, result.throttled ? 429 : 422);
    }
    continueWith(c, result.session);
    recordAudit(db, clock, { action: "two_factor_enrol", userId: user.id, agencyId: user.agencyId, address });
    return profilePage(c, user, {
      state: { kind: "on", recoveryCodesLeft: result.recoveryCodes.length, newRecoveryCodes: result.recoveryCodes },
      notice: "Verifica in due passaggi attiva: dal prossimo accesso ti sarà chiesto il codice dell'app.",
    });
  })
  .post("/due-passaggi/codici", async (c) => {
    const { db, clock } = c.get("deps");
    const user = signedInUser(c);
    if (!user.totpSecret) return profilePage(c, user);
    const refused = await refusedCode(c, user);
    if (refused) return refused;
    const address = clientAddress(c);
    const codes = replaceRecoveryCodes(db, user.id);
    recordAudit(db, clock, { action: "recovery_codes_renew", userId: user.id, agencyId: user.agencyId, address });
    return profilePage(c, user, {
      state: { kind: "on", recoveryCodesLeft: codes.length, newRecoveryCodes: codes },
      notice: "Nuovi codici di recupero generati: quelli di prima non valgono più.",
    });
  })
  .post("/due-passaggi/disattiva", async (c) => {
    const { db, clock } = c.get("deps");
    const user = signedInUser(c);
    if (!user.totpSecret) return profilePage(c, user);
    if (c.get("secondFactorRequired")) {
      return profilePage(c, user, { error: "La verifica in due passaggi è obbligatoria per la tua utenza e non si può disattivare." }, 422);
    }
    const refused = await refusedCode(c, user);
    if (refused) return refused;
    const address = clientAddress(c);
    resetSecondFactor(db, user.id);
    continueWith(c, createSession(db, clock, user.id));
    recordAudit(db, clock, { action: "two_factor_disable", userId: user.id, agencyId: user.agencyId, address });
    return profilePage(c, { ...user, totpSecret: null }, { notice: "Verifica in due passaggi disattivata." });
  })
  .get("/api", (c) => c.html(<ApiDocsPage ctx={pageContext(c, "Documentazione dell'API")} document={apiDocument(c.get("deps").config.BASE_URL)} />))
  // A token outlives the session that made it: the password is asked again, as for signing in.
  .post("/token", async (c) => {
    const { db, clock } = c.get("deps");
    const user = signedInUser(c);
    const parsed = tokenForm.safeParse(await c.req.parseBody());
    if (!parsed.success) return profilePage(c, user, { tokens: { error: "Scrivi un nome di al più 80 caratteri, la durata in giorni e la tua password." } }, 422);
    const form = parsed.data;
    const values = { name: form.nome, days: form.giorni };
    const address = clientAddress(c);
    const wait = throttleWaitMs(db, "account", user.email, clock.now().getTime());
    if (wait > 0) {
      c.header("Retry-After", String(Math.ceil(wait / 1000)));
      return profilePage(c, user, { tokens: { values, error: `Troppi tentativi con una password sbagliata: riprova tra ${Math.ceil(wait / 1000)} secondi.` } }, 429);
    }
    if (!(await Bun.password.verify(form.password, user.passwordHash))) {
      recordFailure(db, "account", user.email, clock.now());
      recordAudit(db, clock, { action: "api_token_create_failed", userId: user.id, agencyId: user.agencyId, address });
      return profilePage(c, user, { tokens: { values, error: "La password non è corretta: scrivi la password con cui accedi a Placement." } }, 422);
    }
    clearFailures(db, "account", user.email);
    const result = createApiToken(db, clock, user, { name: form.nome, days: /^\d{1,4}$/.test(form.giorni) ? Number(form.giorni) : NaN });
    if (!result.ok) return profilePage(c, user, { tokens: { values, error: result.error } }, 422);
    recordAudit(db, clock, {
      action: "api_token_create",
      userId: user.id,
      agencyId: user.agencyId,
      target: `token:${result.id}`,
      detail: { name: form.nome.trim(), expiresAt: result.expiresAt.toISOString() },
      address,
    });
    return profilePage(c, user, { tokens: { created: { name: form.nome.trim(), token: result.token, expiresAt: result.expiresAt } } });
  })
  .post("/token/:id/revoca", (c) => {
    const { db, clock } = c.get("deps");
    const user = signedInUser(c);
    const token = revokeApiToken(db, clock, idParam(c, "id"), "user", user.id) ?? notFound();
    recordAudit(db, clock, { action: "api_token_revoke", userId: user.id, agencyId: user.agencyId, target: `token:${token.id}`, detail: { name: token.name }, address: clientAddress(c) });
    return profilePage(c, user, { notice: `Token «${token.name}» revocato: da ora ogni richiesta con esso è rifiutata.` });
  })
  .get("/password", (c) =>
    c.html(<PasswordPage ctx={pageContext(c, "Password")} mustChange={signedInUser(c).mustChangePassword} errors={{}} />),
  )
  .post("/password", async (c) => {
    const { db, clock } = c.get("deps");
    const user = signedInUser(c);
    const form = passwordForm.safeParse(await c.req.parseBody());
    const page = (errors: Parameters<typeof PasswordPage>[0]["errors"], status: 200 | 422, done = false) =>
      c.html(<PasswordPage ctx={pageContext(c, "Password")} mustChange={user.mustChangePassword && !done} errors={errors} done={done} />, status);
    if (!form.success) return page({ next: "Compila tutti i campi." }, 422);
    if (form.data.nuova !== form.data.ripeti) return page({ repeat: "Le due password nuove non coincidono." }, 422);
    const result = await changePassword(db, clock, user, form.data.attuale, form.data.nuova);
    if (!result.ok) return page({ [result.field]: result.error }, 422);
    continueWith(c, result.session);
    recordAudit(db, clock, { action: "password_change", userId: user.id, agencyId: user.agencyId, address: clientAddress(c) });
    if (user.mustChangePassword) return c.redirect("/", 303);
    return page({}, 200, true);
  });
