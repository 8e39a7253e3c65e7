import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { PasswordPage } from "../../views/pages/password.tsx";
import { clientAddress, pageContext, requireUser, sessionCookie, signedInUser, type AppEnv } from "../http.ts";
import { recordAudit } from "../services/audit.ts";
import { changePassword } from "../services/auth.ts";

const passwordForm = z.object({ attuale: z.string().max(1024), nuova: z.string().max(1024), ripeti: z.string().max(1024) });

export const profileRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get("/password", (c) =>
    c.html(<PasswordPage ctx={pageContext(c, "Password")} mustChange={signedInUser(c).mustChangePassword} errors={{}} />),
  )
  .post("/password", async (c) => {
    const { db, clock, config } = c.get("deps");
    const user = signedInUser(c);
    const form = passwordForm.safeParse(await c.req.parseBody());
    const page = (errors: Parameters<typeof PasswordPage>[0]["errors"], status: 200 | 422, done = false) =>
      c.html(<PasswordPage ctx={pageContext(c, "Password")} mustChange={user.mustChangePassword && !done} errors={errors} done={done} />, status);
    if (!form.success) return page({ next: "Compila tutti i campi." }, 422);
    if (form.data.nuova !== form.data.ripeti) return page({ repeat: "Le due password nuove non coincidono." }, 422);
    const result = await changePassword(db, clock, user, form.data.attuale, form.data.nuova);
    if (!result.ok) return page({ [result.field]: result.error }, 422);
    const cookie = sessionCookie(config);
    setCookie(c, cookie.name, result.session.token, cookie.options);
    c.set("csrfToken", result.session.csrfToken);
    recordAudit(db, clock, { action: "password_change", userId: user.id, agencyId: user.agencyId, address: clientAddress(c) });
    if (user.mustChangePassword) return c.redirect("/", 303);
    return page({}, 200, true);
  });
