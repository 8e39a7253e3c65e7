import { afterAll, setDefaultTimeout } from "bun:test";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { bookAndDownload, signedIn, tables, upload } from "../helpers/flows.ts";
import { scenarios, type Scenario } from "../helpers/scenarios.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";

// Sign-ins verify argon2id hashes, on purpose slow: on a busy machine a test takes seconds.
setDefaultTimeout(30_000);

// Who may reach what: every page and action, asked by each kind of user. Agency data of
// another agency answers 404 (it does not exist for them); a page of their own agency
// that their role may not use answers 403; the fund's pages do not exist for agencies.

const t = await createTestApp();
afterAll(() => t.close());
const f = fixtures(t.db);
const { one } = tables(t);

const enrollmentOf = (agencyId: number) =>
  one<{ id: number; project_id: number; class_id: number }>(
    "SELECT e.id, e.project_id, e.class_id FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE p.agency_id = ? ORDER BY e.id LIMIT 1",
    agencyId,
  );
const rowA = enrollmentOf(f.agencyA.id);
const rowB = enrollmentOf(f.agencyB.id);
const classA = `/progetti/${rowA.project_id}/aule/${rowA.class_id}`;
const classB = `/progetti/${rowB.project_id}/aule/${rowB.class_id}`;

// One finished download and one finished upload of agency A, made as its clerk makes them.
const clerk = await signedIn(t, f.rpaA);
await upload(clerk, await bookAndDownload(t, clerk));
await drainUploads(t.deps);
const exportA = `/placement/prenotazioni/${one<{ id: number }>("SELECT id FROM export_jobs ORDER BY id DESC LIMIT 1").id}`;
const uploadA = `/placement/caricamenti/${one<{ id: number }>("SELECT id FROM import_jobs ORDER BY id DESC LIMIT 1").id}`;

const people = { rpa: f.rpaA, referent: f.referentA, operator: f.operatorA, otherAgency: f.rpaB, fund: f.fund };
type Who = keyof typeof people;
const EVERYONE: Who[] = ["rpa", "referent", "operator", "otherAgency", "fund"];
const AGENCY: Who[] = ["rpa", "referent", "operator", "otherAgency"];

/** The same request asked by several people, each with the status they must get. */
const row = (method: "GET" | "POST", path: string, statuses: Partial<Record<Who | "anonymous", number>>, extra: Partial<Scenario<Who>> = {}): Scenario<Who>[] =>
  Object.entries(statuses).map(([as, status]) => ({ as: as as Who | "anonymous", method, path, status: status!, ...extra }));
const each = (who: Who[], status: number) => Object.fromEntries(who.map((w) => [w, status])) as Partial<Record<Who, number>>;

const ANONYMOUS = { anonymous: 303 };

scenarios("anonymous visitors are sent to sign in", t, people, [
  ...["/", "/progetti", `/progetti/${f.projectA}`, classA, "/placement", "/placement/import-massivo", exportA, uploadA, "/fondo", "/amministrazione/agenzie", "/profilo/password", "/profilo/api"].flatMap(
    (path) => row("GET", path, ANONYMOUS, { location: "/login" }),
  ),
  ...row("GET", "/progetti", { anonymous: 401 }, { htmx: true, location: "/login" }),
  ...row("GET", `${exportA}/file`, ANONYMOUS, { location: "/login" }),
  ...row("POST", "/placement/prenotazioni", ANONYMOUS, { location: "/login", form: { anno: "2019", formato: "xlsx", tipologie: "BASE" } }),
  ...row("POST", `${classA}/iscrizioni/${rowA.id}`, { anonymous: 401 }, { htmx: true, location: "/login", form: { fascia: "NO" } }),
  ...row("POST", "/amministrazione/agenzie", ANONYMOUS, { location: "/login", form: { codice: "X1", nome: "Intrusa" } }),
]);

scenarios("agency pages: each agency its own, the fund all of them", t, people, [
  ...row("GET", "/progetti", each(EVERYONE, 200)),
  ...row("GET", "/profilo/api", each(EVERYONE, 200)),
  ...row("GET", `/progetti/${f.projectA}`, { rpa: 200, referent: 200, operator: 200, fund: 200 }),
  ...row("GET", `/progetti/${f.projectB}`, { rpa: 404, referent: 404, operator: 404 }, { absent: f.agencyB.code }),
  ...row("GET", `/progetti/${f.projectB}`, { otherAgency: 200, fund: 200 }),
  ...row("GET", "/progetti/999999", { rpa: 404, fund: 404 }),
  ...row("GET", "/progetti/abc", { rpa: 404 }),
  ...row("GET", classA, { rpa: 200, referent: 200, operator: 200, otherAgency: 404, fund: 200 }),
  ...row("GET", classB, { rpa: 404, otherAgency: 200 }),
  ...row("GET", `${classA}/iscrizioni/${rowA.id}`, { rpa: 200, operator: 200, otherAgency: 404, fund: 200 }, { htmx: true }),
  ...row("GET", `${classA}/iscrizioni/${rowA.id}/storico`, { rpa: 200, operator: 200, otherAgency: 404, fund: 200 }, { htmx: true }),
  // An enrollment of agency B asked through agency A's class is not found either.
  ...row("GET", `${classA}/iscrizioni/${rowB.id}`, { rpa: 404, fund: 404 }, { htmx: true }),
]);

scenarios("editing a trainee: the agency's rpa and referents only", t, people, [
  ...row("GET", `${classA}/iscrizioni/${rowA.id}/modifica`, { rpa: 200, referent: 200, operator: 403, otherAgency: 404, fund: 403 }, { htmx: true }),
  ...row("POST", `${classA}/iscrizioni/${rowA.id}`, { operator: 403, otherAgency: 404, fund: 403 }, { htmx: true, form: { fascia: "NO" } }),
  ...row("POST", `${classB}/iscrizioni/${rowB.id}`, { rpa: 404, referent: 404 }, { htmx: true, form: { fascia: "NO" } }),
]);

scenarios("the Placement section: the permission, and each agency's own jobs", t, people, [
  ...["/placement", "/placement/import-massivo", "/placement/riepilogo", "/placement/riepilogo/file", "/placement/ultime-elaborazioni"].flatMap((path) =>
    row("GET", path, { rpa: 200, referent: 200, operator: 403, otherAgency: 200, fund: path === "/placement" ? 303 : 200 }),
  ),
  ...row("GET", exportA, { rpa: 200, referent: 200, operator: 403, otherAgency: 404, fund: 200 }, { htmx: true }),
  ...row("GET", `${exportA}/file`, { rpa: 200, referent: 200, operator: 403, otherAgency: 404, fund: 200 }),
  ...row("GET", uploadA, { rpa: 200, referent: 200, operator: 403, otherAgency: 404 }, { htmx: true }),
  ...row("GET", `${uploadA}/esito`, { rpa: 200, referent: 200, operator: 403, otherAgency: 404 }),
  ...row("GET", "/placement/prenotazioni/999999", { rpa: 404, fund: 404 }, { htmx: true }),
  ...row("POST", "/placement/prenotazioni", { operator: 403 }, { form: { anno: "2019", formato: "xlsx", tipologie: "BASE" } }),
  ...row("POST", "/placement/caricamenti", { operator: 403 }, { form: { anno: "2019" } }),
]);

const FUND_PAGES = [
  "/fondo",
  `/fondo/agenzie/${f.agencyA.id}`,
  `/fondo/agenzie/${f.agencyB.id}`,
  "/fondo/posta",
  "/fondo/registro",
  "/fondo/registro/file",
  "/amministrazione/agenzie",
  `/amministrazione/agenzie/${f.agencyA.id}`,
  "/amministrazione/fondo",
  "/amministrazione/campagne",
  "/amministrazione/liste/categorie",
  "/amministrazione/anagrafiche",
  "/amministrazione/anagrafiche/modello",
  "/amministrazione/token",
];

const FUND_ACTIONS = [
  "/fondo/relazione",
  "/fondo/dati-acquisiti",
  "/fondo/posta/prova",
  "/fondo/posta/1/rinvia",
  "/amministrazione/agenzie",
  `/amministrazione/agenzie/${f.agencyA.id}`,
  `/amministrazione/agenzie/${f.agencyA.id}/utenti`,
  "/amministrazione/fondo/utenti",
  "/amministrazione/campagne",
  "/amministrazione/campagne/proroghe",
  "/amministrazione/campagne/proroghe/1/rimuovi",
  "/amministrazione/campagne/2019/minimi",
  "/amministrazione/liste/categorie",
  "/amministrazione/liste/categorie/NEET",
  "/amministrazione/liste/categorie/NEET/elimina",
  `/amministrazione/utenti/${one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.fund).id}`,
  `/amministrazione/utenti/${one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.fund).id}/password`,
  "/amministrazione/anagrafiche",
  "/amministrazione/token/1/revoca",
];

scenarios("the fund's pages and actions do not exist for agencies", t, people, [
  ...FUND_PAGES.flatMap((path) => [...row("GET", path, each(AGENCY, 404), { absent: f.agencyB.code }), ...row("GET", path, { fund: 200 })]),
  ...["/amministrazione/anagrafiche/1", "/amministrazione/anagrafiche/1/esito", "/fondo/posta/1.eml"].flatMap((path) => row("GET", path, { ...each(AGENCY, 404), ...ANONYMOUS })),
  ...FUND_ACTIONS.flatMap((path) => row("POST", path, each(AGENCY, 404), { form: { codice: "X1", nome: "Intrusa", indirizzo: "x@example.org" } })),
  // A list's name is looked up among the lists only, never among an object's own properties.
  ...["altro", "__proto__", "constructor", "toString"].flatMap((name) => row("GET", `/amministrazione/liste/${name}`, { fund: 404 })),
]);

scenarios("a form without its token is refused, whoever sends it", t, people, [
  ...row("POST", "/placement/prenotazioni", { rpa: 403 }, { form: { _csrf: "forged", anno: "2019", formato: "xlsx", tipologie: "BASE" } }),
  ...row("POST", `${classA}/iscrizioni/${rowA.id}`, { referent: 403 }, { htmx: true, form: { _csrf: "", fascia: "NO" } }),
  ...row("POST", "/amministrazione/agenzie", { fund: 403 }, { form: { _csrf: "forged", codice: "X1", nome: "Intrusa" } }),
  ...row("POST", "/profilo/password", { operator: 403 }, { form: { _csrf: "forged", attuale: "demo1234", nuova: "una-nuova-password", ripeti: "una-nuova-password" } }),
  ...row("POST", "/profilo/token", { rpa: 403 }, { form: { _csrf: "forged", nome: "Intruso", giorni: "365", password: "demo1234" } }),
]);

const operatorA = one<{ id: number }>("SELECT id FROM users WHERE email = ?", f.operatorA).id;
const agencyAEmails = [f.rpaA, f.referentA, f.operatorA];
const userForm = { email: "nuovo@example.org", nome: "Nuovo Utente", ruolo: "operator", placement: "1" };

scenarios("an agency's users: its Responsabile and Referenti manage them, nobody else from this page", t, people, [
  ...row("GET", "/utenti", { rpa: 200, referent: 200, operator: 403, fund: 404, ...ANONYMOUS }),
  ...agencyAEmails.map((email): Scenario<Who> => ({ as: "otherAgency", method: "GET", path: "/utenti", status: 200, absent: email })),
  ...row("POST", "/utenti", { operator: 403, fund: 404 }, { form: userForm }),
  ...row("POST", `/utenti/${operatorA}`, { otherAgency: 404, operator: 403, fund: 404 }, { form: { ...userForm, disabilitato: "1" } }),
  ...row("POST", `/utenti/${operatorA}/password`, { otherAgency: 404, operator: 403, fund: 404 }),
]);
