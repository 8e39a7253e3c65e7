import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchBrowser, serve } from "../helpers/browser.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let browser: Browser;
let server: ReturnType<typeof serve>;

beforeAll(async () => {
  t = await createTestApp();
  server = serve(t);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser.close();
  server.stop();
  t.close();
});

describe("in a real browser", () => {
  test("a demo rpa signs in and sees the agency's projects, without CSP errors", async () => {
    const f = fixtures(t.db);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));

    await page.goto(`${server.url}/`);
    await page.getByLabel("E-mail").fill(f.rpaA);
    await page.getByLabel("Password").fill("demo1234");
    await page.getByRole("button", { name: "Accedi" }).click();
    await page.waitForURL(`${server.url}/progetti`);

    const agencyName = (t.db.$client.query("SELECT name FROM agencies WHERE id = ?").get(f.agencyA.id) as { name: string })
      .name;
    expect(await page.locator("h1").textContent()).toBe(agencyName);
    const rows = await page.locator("tbody tr").count();
    const expected = (
      t.db.$client.query("SELECT count(*) AS n FROM projects WHERE agency_id = ?").get(f.agencyA.id) as { n: number }
    ).n;
    expect(rows).toBe(expected);
    expect(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx)).toBe("object");

    await page.locator("tbody tr a").first().click();
    await page.waitForURL(/\/progetti\/\d+$/);
    expect(await page.locator("h2").count()).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Esci" }).click();
    await page.waitForURL(`${server.url}/login`);
    expect(problems).toEqual([]);
    await page.close();
  });

  test("a wrong password shows the message on the sign-in page", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel("E-mail").fill("nessuno@example.org");
    await page.getByLabel("Password").fill("sbagliata");
    await page.getByRole("button", { name: "Accedi" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("E-mail o password non corrette");
    await page.close();
  });
});
