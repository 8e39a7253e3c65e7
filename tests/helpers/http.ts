// Talking to a running server over real HTTP, as a browser would.

/** Signs in through the real form; returns the Cookie header of the session. */
/** Signs in over HTTP; `code` gives the second factor's code for a user who has one. */
export async function signIn(base: string, email: string, password = "demo1234", code?: () => string): Promise<string> {
  const page = await fetch(`${base}/login`);
  const loginCookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
  const token = (await page.text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
  const response = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { Cookie: loginCookie, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: token, email, password }),
  });
  const session = sessionCookieOf(response);
  if (!session) throw new Error(`sign-in as ${email} failed: ${response.status}`);
  if (response.headers.get("Location") !== "/login/codice" || !code) return session;
  const second = await fetch(`${base}/login/codice`, {
    method: "POST",
    redirect: "manual",
    headers: { Cookie: session, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: await csrfToken(base, session, "/login/codice"), codice: code() }),
  });
  const full = sessionCookieOf(second);
  if (!full) throw new Error(`second step as ${email} failed: ${second.status}`);
  return full;
}

/** The Cookie header of the session a response sets, if it sets one. */
export function sessionCookieOf(response: Response): string | undefined {
  return response.headers.getSetCookie().find((c) => c.includes("placement_session="))?.split(";")[0];
}

/** The CSRF token of a signed-in page. */
export async function csrfToken(base: string, cookie: string, path = "/placement"): Promise<string> {
  const html = await (await fetch(`${base}${path}`, { headers: { Cookie: cookie } })).text();
  return html.match(/name="_csrf" value="([^"]+)"/)![1]!;
}
