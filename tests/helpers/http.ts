// Talking to a running server over real HTTP, as a browser would.

/** Signs in through the real form; returns the Cookie header of the session. */
export async function signIn(base: string, email: string, password = "demo1234"): Promise<string> {
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
  return session;
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
