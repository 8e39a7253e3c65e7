import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { signedIn, tables, type Queries } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp, type TestClient } from "../helpers/test-app.ts";

// Sign-ins verify argon2id hashes, on purpose slow: on a busy machine a test takes seconds.
setDefaultTimeout(30_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let one: Queries["one"];
let fund: TestClient;

beforeAll(async () => {
  t = await createTestApp();
  f = fixtures(t.db);
  ({ one } = tables(t));
  fund = await signedIn(t, f.fund, { address: "192.0.2.51", page: "/amministrazione/agenzie" });
});
afterAll(() => t.close());

const html = (text: string) => text.replace(/'/g, "&#39;");
const oneTime = (html: string) => html.match(/(?:primo|prossimo) accesso: ([\w-]+)/)![1]!;

describe("administration pages", () => {
  test("agency users and anonymous visitors get nothing", async () => {
    const agency = t.client("192.0.2.52");
    await agency.login(f.rpaA);
    for (const path of ["/amministrazione/agenzie", `/amministrazione/agenzie/${f.agencyA.id}`, "/amministrazione/fondo", "/amministrazione/campagne"]) {
      expect((await agency.get(path)).status, path).toBe(404);
      expect((await t.client("192.0.2.53").get(path)).status, path).toBe(303);
    }
    expect((await agency.post("/amministrazione/agenzie", { codice: "X1", nome: "Intrusa" })).status).toBe(404);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM agencies WHERE code = 'X1'").n).toBe(0);
  });

  test("an agency is created, renamed and disabled; mistakes are named", async () => {
    const bad = await fund.post("/amministrazione/agenzie", { codice: "?", nome: "" });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain("Il codice deve avere da 2 a 20 lettere");
    const duplicate = await fund.post("/amministrazione/agenzie", { codice: f.agencyA.code, nome: "Doppia" });
    expect(await duplicate.text()).toContain(html(`Esiste già un'agenzia con codice ${f.agencyA.code}.`));

    const created = await fund.post("/amministrazione/agenzie", { codice: "apl900", nome: "Nuova Agenzia S.r.l." });
    expect(created.status).toBe(303);
    const id = one<{ id: number }>("SELECT id FROM agencies WHERE code = 'APL900'").id;
    expect(created.headers.get("Location")).toBe(`/amministrazione/agenzie/${id}`);
    const updated = await fund.post(`/amministrazione/agenzie/${id}`, { nome: "Nuova Agenzia S.p.A.", disabilitata: "1" });
    expect(await updated.text()).toContain("Agenzia aggiornata.");
    expect(one("SELECT name, disabled FROM agencies WHERE id = ?", id)).toEqual({ name: "Nuova Agenzia S.p.A.", disabled: 1 });
    expect(one<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action IN ('agency_create', 'agency_update')").n).toBe(2);
  });

  test("users: one active rpa per agency, a one-time password on creation, roles and permission edited", async () => {
    const path = `/amministrazione/agenzie/${f.agencyA.id}/utenti`;
    const second = await fund.post(path, { email: "secondo.rpa@example.org", nome: "Secondo Rpa", ruolo: "rpa" });
    expect(second.status).toBe(422);
    expect(await second.text()).toContain(html("L'agenzia ha già un Responsabile Politiche Attive attivo"));

    const created = await fund.post(path, { email: "Nuovo.Operatore@Example.org", nome: "Nuovo Operatore", ruolo: "operator" });
    expect(created.status).toBe(200);
    const password = oneTime(await created.text());
    const user = one<{ id: number; must_change_password: number; placement_permission: number }>("SELECT * FROM users WHERE email = 'nuovo.operatore@example.org'");
    expect(user.must_change_password).toBe(1);
    expect(user.placement_permission).toBe(0);

    const granted = await fund.post(`/amministrazione/utenti/${user.id}`, { nome: "Nuovo Operatore", ruolo: "referent", placement: "1" });
    expect(await granted.text()).toContain("aggiornato");
    expect(one("SELECT role, placement_permission FROM users WHERE id = ?", user.id)).toEqual({ role: "referent", placement_permission: 1 });
    const promoted = await fund.post(`/amministrazione/utenti/${user.id}`, { nome: "Nuovo Operatore", ruolo: "rpa" });
    expect(promoted.status).toBe(422);

    const newcomer = t.client("192.0.2.54");
    expect((await newcomer.login("nuovo.operatore@example.org", password)).status).toBe(303);
    expect((await newcomer.get("/progetti")).headers.get("Location")).toBe("/profilo/password");

    const reset = await fund.post(`/amministrazione/utenti/${user.id}/password`, {});
    const temporary = oneTime(await reset.text());
    expect(temporary).not.toBe(password);
    expect((await t.client("192.0.2.55").login("nuovo.operatore@example.org", temporary)).status).toBe(303);

    const disabled = await fund.post(`/amministrazione/utenti/${user.id}`, { nome: "Nuovo Operatore", ruolo: "referent", disabilitato: "1" });
    expect(disabled.status).toBe(200);
    expect((await t.client("192.0.2.56").login("nuovo.operatore@example.org", temporary)).status).toBe(401);
  });

  test("fund operators are created on their own page", async () => {
    const created = await fund.post("/amministrazione/fondo/utenti", { email: "collega@fondo.example", nome: "Una Collega" });
    expect(created.status).toBe(200);
    expect(one("SELECT role, agency_id FROM users WHERE email = 'collega@fondo.example'")).toEqual({ role: "fund_operator", agency_id: null });
    const invalid = await fund.post("/amministrazione/fondo/utenti", { email: "non-una-mail", nome: "X Y" });
    expect(await invalid.text()).toContain("Scrivi un indirizzo e-mail valido");
  });

  test.each(["<svg/onload=alert(4)>@x.it", "a b@x.it", "nome@x", "nome@@x.it", ".nome@x.it", "nome@x.it, altro@x.it"])(
    "a user e-mail such as %p is refused, for agencies and the fund alike",
    async (email) => {
      for (const path of [`/amministrazione/agenzie/${f.agencyA.id}/utenti`, "/amministrazione/fondo/utenti"]) {
        const refused = await fund.post(path, { email, nome: "Nome Cognome", ruolo: "operator" });
        expect(refused.status).toBe(422);
        expect(await refused.text()).toContain("Scrivi un indirizzo e-mail valido, nella forma nome.cognome@dominio.it.");
      }
      expect(one("SELECT count(*) AS n FROM users WHERE name = 'Nome Cognome'")).toEqual({ n: 0 });
    },
  );

  test("campaigns are created and edited; a deadline before the opening is refused", async () => {
    const wrong = await fund.post("/amministrazione/campagne", { anno: "2020", apertura: "2021-08-04", scadenza: "2021-07-30" });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain("La scadenza non può precedere l&#39;apertura.");
    expect((await fund.post("/amministrazione/campagne", { anno: "2020", apertura: "2021-08-04", scadenza: "2021-11-30" })).status).toBe(200);
    expect((await fund.post("/amministrazione/campagne", { anno: "2020", apertura: "2021-08-04", scadenza: "2021-12-15" })).status).toBe(200);
    expect(one("SELECT opens_on, deadline FROM campaigns WHERE year = 2020")).toEqual({ opens_on: "2021-08-04", deadline: "2021-12-15" });
  });

  test("reference lists: codes are added and edited; a code in use is only disabled, an unused one deleted", async () => {
    const base = "/amministrazione/liste/categorie";
    expect((await fund.post(base, { codice: "no", descrizione: "Riservato" })).status).toBe(422);
    expect((await fund.post(base, { codice: "NEET", descrizione: "Giovane che non studia e non lavora" })).status).toBe(200);
    expect(one("SELECT description, active FROM vulnerable_categories WHERE code = 'NEET'")).toEqual({
      description: "Giovane che non studia e non lavora",
      active: 1,
    });
    const used = one<{ v: string }>("SELECT fascia_debole AS v FROM enrollments WHERE fascia_debole NOT IN ('NO') AND fascia_debole IS NOT NULL LIMIT 1").v;
    const refused = await fund.post(`${base}/${used}/elimina`, {});
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain(`Il codice ${used} è in uso: disabilitalo invece di eliminarlo.`);
    expect((await fund.post(`${base}/${used}`, { descrizione: "Descrizione nuova", ordine: "3" })).status).toBe(200);
    expect(one("SELECT description, active FROM vulnerable_categories WHERE code = ?", used)).toEqual({ description: "Descrizione nuova", active: 0 });
    expect((await fund.post(`${base}/NEET/elimina`, {})).status).toBe(200);
    expect(one("SELECT count(*) AS n FROM vulnerable_categories WHERE code = 'NEET'")).toEqual({ n: 0 });
    expect((await fund.get("/amministrazione/liste/altro")).status).toBe(404);
  });
});
