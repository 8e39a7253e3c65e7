import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { signedIn, tables } from "../helpers/flows.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";
import { snapshot } from "../helpers/scenarios.ts";

setDefaultTimeout(30_000);

const t = await createTestApp();
afterAll(() => t.close());
const f = fixtures(t.db);
const { one, all } = tables(t);
const idOf = (email: string) => one<{ id: number }>("SELECT id FROM users WHERE email = ?", email).id;
const userOf = (email: string) =>
  one<{ role: string; placement_permission: number; disabled: number; must_change_password: number }>("SELECT * FROM users WHERE email = ?", email);
const rpaName = one<{ name: string }>("SELECT name FROM users WHERE email = ?", f.rpaA).name;
const referentName = one<{ name: string }>("SELECT name FROM users WHERE email = ?", f.referentA).name;

const rpa = await signedIn(t, f.rpaA, { page: "/utenti", address: "198.51.100.1" });
const referent = await signedIn(t, f.referentA, { page: "/utenti", address: "198.51.100.2" });
const NEW = "nuovo.operatore@example.org";

describe("an agency administers its own users", () => {
  test("the Responsabile creates an operator without the Placement permission: the one-time password is shown once, audited as the agency's", async () => {
    const answer = await rpa.post("/utenti", { email: NEW, nome: "Nuovo Operatore", ruolo: "operator" });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toMatch(/Utente nuovo\.operatore@example\.org creato\. Password provvisoria[^:]*: \S+/);
    expect(userOf(NEW)).toMatchObject({ role: "operator", placement_permission: 0, must_change_password: 1 });
    const agencyId = one<{ agency_id: number }>("SELECT agency_id FROM users WHERE email = ?", NEW).agency_id;
    expect(agencyId).toBe(f.agencyA.id);
    const entry = one<{ agency_id: number; detail: string }>("SELECT agency_id, detail FROM audit_log WHERE action = 'user_create' ORDER BY id DESC LIMIT 1");
    expect(entry.agency_id).toBe(f.agencyA.id);
    expect(JSON.parse(entry.detail)).toMatchObject({ role: "operator", by: "agency" });
    expect(entry.detail).not.toContain("Password");
  });

  test("the operator is told whom to ask for the permission, by name; a Referente grants it and Placement opens", async () => {
    const operator = await signedIn(t, f.operatorA, { page: null, address: "198.51.100.3" });
    const refused = await operator.get("/placement");
    expect(refused.status).toBe(403);
    const sentence = await refused.text();
    expect(sentence).toContain(`al Responsabile Politiche Attive (${rpaName})`);
    expect(sentence).toContain(referentName);

    const id = idOf(f.operatorA);
    const name = one<{ name: string }>("SELECT name FROM users WHERE id = ?", id).name;
    const granted = await referent.post(`/utenti/${id}`, { nome: name, ruolo: "operator", placement: "1" });
    expect(granted.status).toBe(200);
    expect(userOf(f.operatorA).placement_permission).toBe(1);
    expect((await operator.get("/placement")).status).toBe(200);
    const entry = one<{ detail: string }>("SELECT detail FROM audit_log WHERE action = 'user_update' ORDER BY id DESC LIMIT 1");
    expect(JSON.parse(entry.detail)).toMatchObject({ placement: true, disabled: false, by: "agency" });
  });

  test("a disabled user is signed out at the next request; a temporary password must be changed at the next sign-in", async () => {
    const operator = await signedIn(t, f.operatorA, { page: null, address: "198.51.100.4" });
    const id = idOf(f.operatorA);
    const name = one<{ name: string }>("SELECT name FROM users WHERE id = ?", id).name;
    await referent.post(`/utenti/${id}`, { nome: name, ruolo: "operator", placement: "1", disabilitato: "1" });
    expect(userOf(f.operatorA).disabled).toBe(1);
    const after = await operator.get("/progetti");
    expect(after.status).toBe(303);
    expect(after.headers.get("Location")).toStartWith("/login");
    await referent.post(`/utenti/${id}`, { nome: name, ruolo: "operator", placement: "1" });

    const reset = await referent.post(`/utenti/${id}/password`, {});
    expect(await reset.text()).toContain(`Password provvisoria di ${f.operatorA}`);
    expect(userOf(f.operatorA).must_change_password).toBe(1);
    expect(all("SELECT id FROM audit_log WHERE action = 'user_temporary_password'")).toHaveLength(1);
  });

  test.each([
    ["fund_operator", "Puoi assegnare solo i ruoli Referente e Operatore ApL"],
    ["rpa", "Puoi assegnare solo i ruoli Referente e Operatore ApL"],
  ])("a Referente cannot make a user %s: refused with a sentence, nothing changes", async (role, sentence) => {
    const before = snapshot(t);
    const created = await referent.post("/utenti", { email: `altro.${role}@example.org`, nome: "Altro Utente", ruolo: role });
    expect(created.status).toBe(422);
    expect(await created.text()).toContain(sentence);
    const id = idOf(NEW);
    const changed = await referent.post(`/utenti/${id}`, { nome: "Nuovo Operatore", ruolo: role, placement: "1" });
    expect(changed.status).toBe(422);
    expect(await changed.text()).toContain(sentence);
    expect(snapshot(t)).toBe(before);
  });

  test.each([
    ["the Responsabile", () => f.rpaA, "Il Responsabile Politiche Attive è gestito dal Fondo."],
    ["their own account", () => f.referentA, "È la tua utenza"],
  ])("a Referente cannot change %s: refused with a sentence, nothing changes", async (_, email, sentence) => {
    const before = snapshot(t);
    const id = idOf(email());
    for (const path of [`/utenti/${id}`, `/utenti/${id}/password`]) {
      const answer = await referent.post(path, { nome: "Nome Cambiato", ruolo: "operator", disabilitato: "1" });
      expect(answer.status).toBe(422);
      expect(await answer.text()).toContain(sentence);
    }
    expect(snapshot(t)).toBe(before);
  });

  test("another agency's users do not exist for it", async () => {
    const before = snapshot(t);
    const other = one<{ id: number }>("SELECT id FROM users WHERE agency_id = ? AND role = 'operator' LIMIT 1", f.agencyB.id).id;
    const fund = idOf(f.fund);
    for (const id of [other, fund]) {
      expect((await referent.post(`/utenti/${id}`, { nome: "Intruso", ruolo: "operator", disabilitato: "1" })).status).toBe(404);
      expect((await referent.post(`/utenti/${id}/password`, {})).status).toBe(404);
    }
    const page = await (await referent.get("/utenti")).text();
    expect(page).not.toContain(f.rpaB);
    expect(snapshot(t)).toBe(before);
  });
});

describe("the Placement permission stays with those who hold it", () => {
  test("a Referente without it cannot give it, nor manage a user who has it; a temporary password ends the user's sessions", async () => {
    const t2 = await createTestApp();
    try {
      const g = fixtures(t2.db);
      const q = tables(t2);
      t2.db.$client.run("UPDATE users SET placement_permission = 0 WHERE email = ?", [g.referentA]);
      t2.db.$client.run("UPDATE users SET placement_permission = 1 WHERE email = ?", [g.operatorA]);
      const referent = await signedIn(t2, g.referentA, { page: "/utenti", address: "198.51.100.31" });
      const before = snapshot(t2);
      const created = await referent.post("/utenti", { email: "secondo.account@example.org", nome: "Secondo Account", ruolo: "operator", placement: "1" });
      expect(created.status).toBe(422);
      expect(await created.text()).toContain("Il permesso Placement lo danno");
      const operator = q.one<{ id: number; name: string }>("SELECT id, name FROM users WHERE email = ?", g.operatorA);
      for (const [path, form] of [
        [`/utenti/${operator.id}`, { nome: operator.name, ruolo: "operator", placement: "1" }],
        [`/utenti/${operator.id}/password`, {}],
      ] as const) {
        const answer = await referent.post(path, form);
        expect(answer.status).toBe(422);
        expect(await answer.text()).toContain("Il permesso Placement lo danno");
      }
      expect(snapshot(t2)).toBe(before);
      // The Placement page names only those who can give the permission.
      const page = await (await referent.get("/placement")).text();
      const sentence = page.slice(page.indexOf("Non hai il permesso Placement"), page.indexOf("</div>", page.indexOf("Non hai il permesso Placement")));
      expect(sentence).toContain("Chiedi di abilitarti al Responsabile Politiche Attive (");
      expect(sentence).not.toContain(q.one<{ name: string }>("SELECT name FROM users WHERE email = ?", g.referentA).name);

      const rpa = await signedIn(t2, g.rpaA, { page: "/utenti", address: "198.51.100.32" });
      const signedInOperator = await signedIn(t2, g.operatorA, { page: null, address: "198.51.100.33" });
      expect((await signedInOperator.get("/progetti")).status).toBe(200);
      expect((await rpa.post(`/utenti/${operator.id}/password`, {})).status).toBe(200);
      const after = await signedInOperator.get("/progetti");
      expect(after.status).toBe(303);
      expect(after.headers.get("Location")).toStartWith("/login");
    } finally {
      t2.close();
    }
  });
});
