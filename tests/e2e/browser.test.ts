import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import * as XLSX from "xlsx";
import { startScheduler, type Scheduler } from "../../src/jobs/registry.ts";
import { launchBrowser, serve } from "../helpers/browser.ts";
import { currentCode } from "../../src/services/two-factor.ts";
import { createTestApp, fixtures, TEST_TOTP_SECRET, type TestApp } from "../helpers/test-app.ts";

// Real browsers and processes: slower than the 5 s default on a loaded machine.
setDefaultTimeout(60_000);

let t: TestApp;
let browser: Browser;
let server: ReturnType<typeof serve>;

let scheduler: Scheduler;

beforeAll(async () => {
  t = await createTestApp({ env: { QUEUE_CRON: "* * * * * *", MAIL_CRON: "* * * * * *" } });
  server = serve(t);
  scheduler = startScheduler(t.deps);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser.close();
  await scheduler.stop();
  server.stop();
  t.close();
});

/** Signs in through the form and waits for the agency's home. */
async function signIn(page: Page, email: string) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("demo1234");
  await page.getByRole("button", { name: "Accedi" }).click();
  await page.waitForURL(`${server.url}/progetti`);
}

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
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/login")),
      page.getByRole("button", { name: "Accedi" }).click(),
    ]);
    expect(response.status()).toBe(401);
    await page.waitForLoadState();
    expect(await page.locator("p[role=alert]").textContent()).toContain("E-mail o password non corrette");
    await page.close();
  });

  test("a referent books a download, watches it become available without reloading, and downloads it", async () => {
    const f = fixtures(t.db);
    const page = await browser.newPage();
    await signIn(page, f.referentA);
    await page.locator("header nav").getByRole("link", { name: "Placement" }).click();
    await page.waitForURL(`${server.url}/placement`);
    await page.getByRole("link", { name: "Import massivo fasce deboli" }).click();
    await page.waitForURL(`${server.url}/placement/import-massivo`);

    // Without a training type the form answers in place.
    await page.getByRole("button", { name: "Prenota il download" }).click();
    await page.getByText("Scegli almeno una tipologia formativa.").waitFor();

    const types = (t.db.$client.query(
      "SELECT DISTINCT p.training_type AS t FROM projects p WHERE p.agency_id = ?",
    ).all(f.agencyA.id) as { t: string }[]).map((r) => r.t);
    for (const type of types) await page.locator(`input[name="tipologie"][value="${type}"]`).check();
    await page.getByRole("button", { name: "Prenota il download" }).click();
    await page.getByText(/Prenotazione n\. \d+ registrata/).waitFor();
    const url = page.url();
    await page.locator('tr[data-status="ready"]').waitFor({ timeout: 20_000 });
    expect(page.url()).toBe(url);
    await expect(page.locator('tr[data-status="ready"]').first().textContent()).resolves.toContain("disponibile");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Scarica" }).first().click(),
    ]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^fasce-deboli_${f.agencyA.code}_2019_\\d+\\.xlsx$`));
    const workbook = XLSX.read(await Bun.file((await download.path())!).arrayBuffer());
    const rows = XLSX.utils.sheet_to_json(workbook.Sheets["Allievi"]!);
    const expected = (t.db.$client.query("SELECT count(*) AS n FROM enrollments WHERE agency_id = ?").get(f.agencyA.id) as { n: number }).n;
    expect(rows).toHaveLength(expected);
    await page.close();
  });

  test("a user turns on the second factor from Profilo with the QR code, then signs in with the app's code", async () => {
    const f = fixtures(t.db);
    const page = await browser.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel("E-mail").fill(f.rpaB);
    await page.getByLabel("Password").fill("demo1234");
    await page.getByRole("button", { name: "Accedi" }).click();
    await page.waitForURL(`${server.url}/progetti`);
    await page.getByRole("link", { name: "Profilo" }).click();
    await page.getByRole("button", { name: "Attiva" }).click();
    const qr = page.locator(".qr svg");
    await qr.waitFor();
    expect((await qr.boundingBox())!.width).toBeGreaterThan(100);
    const secret = (await page.locator("code.mono").innerText()).replaceAll(" ", "");
    await page.getByLabel("Codice dell'app").fill(currentCode(secret, t.clock.now()));
    await page.getByRole("button", { name: "Conferma" }).click();
    await page.locator("#codici-recupero").waitFor();
    expect(await page.locator("#codici-recupero li").count()).toBe(10);

    await page.getByRole("button", { name: "Esci" }).click();
    await page.waitForURL(`${server.url}/login`);
    await page.getByLabel("E-mail").fill(f.rpaB);
    await page.getByLabel("Password").fill("demo1234");
    await page.getByRole("button", { name: "Accedi" }).click();
    await page.waitForURL(`${server.url}/login/codice`);
    // Thirty seconds later: the app shows the next code.
    t.clock.advance(30_000);
    await page.getByLabel("Codice").fill(currentCode(secret, t.clock.now()));
    await page.getByRole("button", { name: "Verifica" }).click();
    await page.waitForURL(`${server.url}/progetti`);
    await page.close();
  });

  test("a referent makes an API token on Profilo, copies it, a script books with it, and the referent revokes it", async () => {
    const f = fixtures(t.db);
    const page = await browser.newPage();
    await signIn(page, f.referentA);
    await page.goto(`${server.url}/profilo`);
    await page.getByLabel("Nome").fill("Gestionale HR");
    await page.getByLabel("Durata in giorni").fill("30");
    await page.getByLabel("La tua password").fill("demo1234");
    await page.getByRole("button", { name: "Crea token" }).click();
    const token = (await page.locator("#new-token").textContent())!;
    expect(token).toMatch(/^plc_/);
    const booked = await fetch(`${server.url}/api/v1/bookings`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ trainingTypes: ["BASE"], year: 2019 }),
    });
    expect(booked.status).toBe(202);
    await page.goto(`${server.url}/profilo`);
    expect(await page.locator("#token-api").textContent()).not.toContain(token);
    await page.getByRole("button", { name: "Revoca" }).click();
    await page.getByText("Token «Gestionale HR» revocato").waitFor();
    expect((await fetch(`${server.url}/api/v1/campaigns`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    await page.getByRole("link", { name: "documentazione dell'API" }).click();
    await page.waitForURL(`${server.url}/profilo/api`);
    expect(await page.locator("h2").count()).toBe(8);
    await page.close();
  });

  test("a fund operator books the dati acquisiti of one agency, watches the row, and downloads the file", async () => {
    const f = fixtures(t.db);
    const page = await browser.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel("E-mail").fill(f.fund);
    await page.getByLabel("Password").fill("demo1234");
    await page.getByRole("button", { name: "Accedi" }).click();
    await page.waitForURL(`${server.url}/login/codice`);
    await page.getByLabel("Codice").fill(currentCode(TEST_TOTP_SECRET, t.clock.now()));
    await page.getByRole("button", { name: "Verifica" }).click();
    await page.waitForLoadState("networkidle");
    await page.goto(`${server.url}/placement/import-massivo`);
    await page.getByRole("heading", { name: "Dati acquisiti" }).waitFor();
    await page.locator('select[name="agenzie"]').selectOption(String(f.agencyB.id));
    for (const box of await page.locator('input[name="tipologie"]').all()) await box.check();
    await page.getByRole("button", { name: "Prenota i dati acquisiti" }).click();
    await page.getByText(/Prenotazione n\. \d+ registrata/).waitFor();
    const row = page.locator('tr[data-status="ready"]', { hasText: "Dati acquisiti" }).first();
    await row.waitFor({ timeout: 20_000 });
    await expect(row.textContent()).resolves.toContain("Fondo");
    const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: "Scarica" }).click()]);
    expect(download.suggestedFilename()).toMatch(/^dati-acquisiti_2019_\d+\.xlsx$/);
    const workbook = XLSX.read(await Bun.file((await download.path())!).arrayBuffer());
    expect(workbook.SheetNames).toEqual(["Dati acquisiti", "Legenda"]);
    const rows = XLSX.utils.sheet_to_json<Record<string, string>>(workbook.Sheets["Dati acquisiti"]!);
    const expected = (t.db.$client.query("SELECT count(*) AS n FROM enrollments WHERE agency_id = ? AND year = 2019").get(f.agencyB.id) as { n: number }).n;
    expect(rows).toHaveLength(expected);
    expect(new Set(rows.map((r) => r["Codice agenzia"]))).toEqual(new Set([f.agencyB.code]));
    await page.close();
  });

  test("a clerk uploads a filled file and sees the counts appear without reloading", async () => {
    const f = fixtures(t.db);
    const page = await browser.newPage();
    await signIn(page, f.rpaA);
    await page.goto(`${server.url}/placement/import-massivo`);

    for (const type of ["BASE", "PROF", "OTJ", "CONT", "QUAL", "RIQ"]) await page.locator(`input[name="tipologie"][value="${type}"]`).check();
    await page.getByRole("button", { name: "Prenota il download" }).click();
    await page.locator('#bookings tr[data-status="ready"]').first().waitFor({ timeout: 20_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Scarica" }).first().click()]);
    const workbook = XLSX.read(await Bun.file((await download.path())!).arrayBuffer());
    const rows = XLSX.utils.sheet_to_json<unknown[]>(workbook.Sheets["Allievi"]!, { header: 1, defval: "" });
    const mixed = rows.findIndex((r, i) => i > 0 && r[4] === "NO");
    rows[mixed]![8] = "GIOV";
    rows[mixed + 1]![8] = "ZZZ";
    workbook.Sheets["Allievi"] = XLSX.utils.aoa_to_sheet(rows);
    const filled = XLSX.write(workbook, { type: "buffer", bookType: "xlsx" }) as Buffer;

    await page.locator('input[type="file"]').setInputFiles({ name: "compilato.xlsx", mimeType: "application/octet-stream", buffer: filled });
    await page.getByRole("button", { name: "Carica" }).click();
    await page.getByText(/Caricamento n\. \d+ \(compilato\.xlsx\) in coda/).waitFor();
    const done = page.locator('#uploads tr[data-status="done_with_errors"]');
    await done.waitFor({ timeout: 20_000 });
    await expect(done.locator("td.ko-count").textContent()).resolves.toBe("1");
    await expect(done.locator("td.ok-count").textContent()).resolves.toBe("1");
    await expect(done.getByRole("link", { name: "Esito" }).isVisible()).resolves.toBe(true);
    await page.close();
  });

  test("a clerk edits one placement inline, Esc cancels, and the dashboard counts it", async () => {
    const f = fixtures(t.db);
    const line = t.db.$client
      .query(
        `SELECT e.project_id, e.class_id, e.id, p.end_date FROM enrollments e JOIN classes c ON c.id = e.class_id
         JOIN projects p ON p.id = e.project_id WHERE e.agency_id = ? AND c.homogeneous = 0 AND e.placed IS NULL ORDER BY e.id LIMIT 1`,
      )
      .get(f.agencyA.id) as { project_id: number; class_id: number; id: number; end_date: string };
    const placedNow = () => (t.db.$client.query("SELECT count(*) AS n FROM enrollments WHERE agency_id = ? AND placed = 1").get(f.agencyA.id) as { n: number }).n;
    const before = placedNow();

    const page = await browser.newPage();
    await signIn(page, f.referentA);
    await page.goto(`${server.url}/placement`);
    const placedFact = page.locator(".fact", { hasText: "Tasso di placement" }).locator(".muted");
    await expect(placedFact.textContent()).resolves.toBe(`${before} assunti`);

    await page.goto(`${server.url}/progetti/${line.project_id}/aule/${line.class_id}`);
    const row = page.locator(`#iscrizione-${line.id}`);
    await row.getByRole("button", { name: "Modifica" }).click();
    await row.locator("select[name=placement]").waitFor();
    await row.locator("select[name=placement]").focus();
    await page.keyboard.press("Escape");
    await row.getByRole("button", { name: "Modifica" }).waitFor();

    await row.getByRole("button", { name: "Modifica" }).click();
    await row.locator("select[name=placement]").selectOption("SI");
    await row.getByRole("button", { name: "Salva" }).click();
    await row.getByRole("alert").waitFor();
    await expect(row.getByRole("alert").textContent()).resolves.toContain("Data assunzione: obbligatoria con Placement SI.");

    const hire = new Date(Date.parse(line.end_date) + 86_400_000 * 3).toISOString().slice(0, 10);
    await row.locator("input[name=data]").fill(hire);
    await row.locator("select[name=contratto]").selectOption("APP");
    await row.getByRole("button", { name: "Salva" }).click();
    await row.getByText("salvato").waitFor();
    expect(placedNow()).toBe(before + 1);

    await page.goto(`${server.url}/placement`);
    await expect(placedFact.textContent()).resolves.toBe(`${before + 1} assunti`);
    await page.close();
  });
});
