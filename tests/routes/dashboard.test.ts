import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as XLSX from "xlsx";
import { drainUploads } from "../../src/jobs/uploads.ts";
import { bookAndUploadBack, expectCountsKept, isoPlusDays, rowUrl, saveEdit, signedIn, tables, type Queries } from "../helpers/flows.ts";
import { createTestApp, fixtures, type TestApp } from "../helpers/test-app.ts";

// Jobs start a worker thread and, for uploads, a child process.
setDefaultTimeout(60_000);

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let one: Queries["one"];
let all: Queries["all"];

beforeAll(async () => {
  // Enough projects and declarations for every case to appear more than once.
  t = await createTestApp({ enrollments: 1600 });
  f = fixtures(t.db);
  ({ one, all } = tables(t));
});
afterAll(() => t.close());

/** Italian-formatted integers as they appear on the page. */
const int = (text: string) => Number(text.replace(/\./g, ""));
const cellsOf = (html: string, rowMarker: string) => {
  const row = html.split("<tr").find((r) => r.includes(rowMarker));
  if (!row) throw new Error(`no row ${rowMarker}`);
  return [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim());
};
const fact = (html: string, label: string) => {
  const match = html.match(new RegExp(`<div class="fact-value">([^<]+)</div><div class="fact-label">${label}</div>`));
  if (!match) throw new Error(`no fact ${label}`);
  return match[1]!;
};

type Raw = { project: string; type: string; homogeneous: number; fascia: string | null; placed: number | null; participant: number };

/** Every enrollment of the agency, fetched plainly; the test counts them itself. */
function rawEnrollments(agencyId: number, type?: string): Raw[] {
  return all<Raw>(
    `SELECT p.code AS project, p.training_type AS type, c.homogeneous, e.fascia_debole AS fascia, e.placed, e.participant_id AS participant
     FROM enrollments e, classes c, projects p WHERE e.class_id = c.id AND c.project_id = p.id AND p.agency_id = ? AND p.year = 2019`,
    agencyId,
  ).filter((r) => !type || r.type === type);
}

function expectFiguresMatch(html: string, raw: Raw[]) {
  const mixed = raw.filter((r) => r.homogeneous === 0);
  expect(int(fact(html, "Allievi"))).toBe(new Set(raw.map((r) => r.participant)).size);
  expect(int(fact(html, "Iscrizioni"))).toBe(raw.length);
  expect(int(fact(html, "In aule omogenee"))).toBe(raw.length - mixed.length);
  expect(int(fact(html, "In aule non omogenee"))).toBe(mixed.length);

  const declarations = html.slice(html.indexOf('id="declarations"'), html.indexOf('id="placement-by-type"'));
  const categories = new Set(mixed.map((r) => r.fascia).filter((v): v is string => v !== null && v !== "NO"));
  expect(categories.size).toBeGreaterThan(1);
  for (const code of categories) {
    expect(int(cellsOf(declarations, `data-code="${code}"`)[1]!)).toBe(mixed.filter((r) => r.fascia === code).length);
  }
  expect(int(cellsOf(declarations, 'data-code="NO"')[1]!)).toBe(mixed.filter((r) => r.fascia === "NO").length);
  expect(int(cellsOf(declarations, 'data-code=""')[1]!)).toBe(mixed.filter((r) => r.fascia === null).length);

  const byType = html.slice(html.indexOf('id="placement-by-type"'), html.indexOf('id="projects"'));
  for (const type of new Set(raw.map((r) => r.type))) {
    const cells = cellsOf(byType, `data-type="${type}"`);
    expect(int(cells[1]!)).toBe(raw.filter((r) => r.type === type).length);
    expect(int(cells[2]!)).toBe(raw.filter((r) => r.type === type && r.placed === 1).length);
  }

  const projects = html.slice(html.indexOf('id="projects"'));
  for (const code of new Set(raw.map((r) => r.project))) {
    const cells = cellsOf(projects, `data-project="${code}"`);
    const own = raw.filter((r) => r.project === code);
    expect(int(cells[3]!)).toBe(own.length);
    const ownMixed = own.filter((r) => r.homogeneous === 0);
    if (ownMixed.length) expect(cells[4]).toContain(`${ownMixed.filter((r) => r.fascia !== null).length}/${ownMixed.length}`);
  }
}

describe("agency dashboard", () => {
  test("every figure equals what the raw tables say", async () => {
    const client = await signedIn(t, f.rpaA, { page: null });
    const response = await client.get("/placement");
    expect(response.status).toBe(200);
    const html = await response.text();
    const raw = rawEnrollments(f.agencyA.id);
    expect(raw.some((r) => r.placed === 1) && raw.some((r) => r.placed === 0)).toBe(true);
    expectFiguresMatch(html, raw);
    expect(html).toContain("Mancano");
  });

  test("the training-type filter narrows every figure", async () => {
    const type = one<{ t: string }>(
      "SELECT p.training_type AS t FROM projects p WHERE p.agency_id = ? GROUP BY p.training_type ORDER BY count(*) DESC LIMIT 1",
      f.agencyA.id,
    ).t;
    const client = await signedIn(t, f.rpaA, { page: null });
    const html = await (await client.get(`/placement?anno=2019&tipologia=${type}`)).text();
    const raw = rawEnrollments(f.agencyA.id, type);
    expect(raw.length).toBeLessThan(rawEnrollments(f.agencyA.id).length);
    expectFiguresMatch(html, raw);
    expect([...html.matchAll(/data-type="(\w+)"/g)].map((m) => m[1])).toEqual([type]);
  });

  test("the projects table sorts by the column asked for", async () => {
    const client = await signedIn(t, f.rpaA, { page: null });
    const html = await (await client.get("/placement?ordina=iscrizioni&verso=desc")).text();
    const counts = [...html.slice(html.indexOf('id="projects"')).matchAll(/data-project="[^"]+"[\s\S]*?<td class="num">([\d.]+)<\/td>/g)].map((m) => int(m[1]!));
    expect(counts.length).toBeGreaterThan(2);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  test("the fund sees an agency's dashboard read-only, and nobody else's agency can", async () => {
    const fund = await signedIn(t, f.fund, { page: null });
    const html = await (await fund.get(`/fondo/agenzie/${f.agencyB.id}`)).text();
    expectFiguresMatch(html, rawEnrollments(f.agencyB.id));
    const agencyUser = await signedIn(t, f.rpaA, { page: null });
    expect((await agencyUser.get(`/fondo/agenzie/${f.agencyB.id}`)).status).toBe(404);
  });

  test("a project's code and title written as markup are shown as text, in the rows and their bars", async () => {
    const project = one<{ id: number; code: string; title: string }>("SELECT id, code, title FROM projects WHERE agency_id = ? ORDER BY code LIMIT 1", f.agencyA.id);
    const hostile = { code: `X"><img src=x onerror=alert(1)>`, title: `<script>alert('t')</script> & "co"` };
    t.db.$client.run("UPDATE projects SET code = ?, title = ? WHERE id = ?", [hostile.code, hostile.title, project.id]);
    try {
      const client = await signedIn(t, f.rpaA, { page: null });
      const html = await (await client.get("/placement")).text();
      expect(html).not.toContain("<img src=x");
      expect(html).not.toContain("<script>alert");
      expect(html).toContain("&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt; &amp; &quot;co&quot;");
      expect(html).toContain(`data-project="X&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"`);
      expect(html).toContain(`title="Placement X&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"`);
    } finally {
      t.db.$client.run("UPDATE projects SET code = ?, title = ? WHERE id = ?", [project.code, project.title, project.id]);
    }
  });
});

describe("fund dashboard", () => {
  test("one row per agency with enrollments, declared and placed as counted from the raw tables, and totals", async () => {
    const client = await signedIn(t, f.fund, { page: null });
    const html = await (await client.get("/fondo")).text();
    let total = 0;
    for (const agency of [f.agencyA, f.agencyB]) {
      const raw = rawEnrollments(agency.id);
      total += raw.length;
      const cells = cellsOf(html, `data-agency="${agency.code}"`);
      expect(int(cells[1]!)).toBe(raw.length);
      const pct = (n: number) => new Intl.NumberFormat("it-IT", { style: "percent", maximumFractionDigits: 1 }).format(n / raw.length);
      expect(cells[2]).toContain(pct(raw.filter((r) => r.fascia !== null).length));
      expect(cells[3]).toContain(pct(raw.filter((r) => r.placed === 1).length));
    }
    const totals = html.slice(html.indexOf("<tfoot>"));
    expect(totals).toContain(`<th class="num">${new Intl.NumberFormat("it-IT").format(total)}</th>`);
  });

  test("sorting by enrollments puts the largest agency first", async () => {
    const client = await signedIn(t, f.fund, { page: null });
    const html = await (await client.get("/fondo?ordina=iscrizioni&verso=desc")).text();
    const order = [...html.matchAll(/data-agency="(APL\d+)"/g)].map((m) => m[1]);
    const expected = all<{ id: number; code: string; name: string }>("SELECT id, code, name FROM agencies")
      .map((a) => ({ ...a, n: rawEnrollments(a.id).length }))
      // Equal counts fall back to the name, descending like the rest.
      .sort((a, b) => b.n - a.n || b.name.localeCompare(a.name))
      .map((a) => a.code);
    expect(order).toEqual(expected);
  });
});

describe("riepilogo elaborazioni", () => {
  test("lists every booking and upload with its counts, on the page and in xlsx and CSV", async () => {
    const client = await signedIn(t, f.rpaA, { page: "/placement/import-massivo" });
    const exportJob = await bookAndUploadBack(t, client);
    await drainUploads(t.deps);
    const upload = one<{ id: number; rows_total: number; rows_unchanged: number }>("SELECT * FROM import_jobs ORDER BY id DESC LIMIT 1");

    const page = await (await client.get("/placement/riepilogo")).text();
    const bookings = one<{ n: number }>("SELECT count(*) AS n FROM export_jobs WHERE agency_id = ?", f.agencyA.id).n;
    const uploads = one<{ n: number }>("SELECT count(*) AS n FROM import_jobs WHERE agency_id = ?", f.agencyA.id).n;
    expect([...page.matchAll(/data-kind="Download"/g)].length).toBe(bookings);
    expect([...page.matchAll(/data-kind="Caricamento"/g)].length).toBe(uploads);

    for (const format of ["xlsx", "csv"] as const) {
      const response = await client.request(`/placement/riepilogo/file?formato=${format}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Disposition")).toContain(`.${format}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const workbook =
        format === "csv" ? XLSX.read(new TextDecoder().decode(bytes), { type: "string", FS: ";", raw: true }) : XLSX.read(bytes);
      const rows = XLSX.utils.sheet_to_json<Record<string, unknown>>(workbook.Sheets[workbook.SheetNames[0]!]!, { raw: true });
      expect(rows.length).toBe(bookings + uploads);
      const uploadRow = rows.find((r) => r["Tipo"] === "Caricamento" && Number(r["N."]) === upload.id)!;
      expect(uploadRow["Stato"]).toBe("completato");
      expect(Number(uploadRow["Righe"])).toBe(upload.rows_total);
      expect(Number(uploadRow["Invariate"])).toBe(upload.rows_unchanged);
      const bookingRow = rows.find((r) => r["Tipo"] === "Download" && Number(r["N."]) === exportJob.id)!;
      expect(bookingRow["Stato"]).toBe("disponibile");
      expect(Number(bookingRow["Righe"])).toBe(exportJob.row_count);
      expect(rows.every((r) => r["Agenzia"] === f.agencyA.code)).toBe(true);
    }

    const fund = await signedIn(t, f.fund, { page: null });
    const everything = await (await fund.get("/placement/riepilogo")).text();
    const allJobs = one<{ n: number }>("SELECT (SELECT count(*) FROM export_jobs) + (SELECT count(*) FROM import_jobs) AS n").n;
    expect([...everything.matchAll(/data-kind="/g)].length).toBe(allJobs);
  });
});

describe("editing one trainee on the class page", () => {
  const mixedLine = () =>
    one<{ project_id: number; class_id: number; id: number; end_date: string }>(
      `SELECT e.project_id, e.class_id, e.id, p.end_date FROM enrollments e JOIN classes c ON c.id = e.class_id
       JOIN projects p ON p.id = e.project_id WHERE e.agency_id = ? AND c.homogeneous = 0 AND e.placed IS NULL ORDER BY e.id LIMIT 1`,
      f.agencyA.id,
    );
  const classPage = (l: { project_id: number; class_id: number }) => `/progetti/${l.project_id}/aule/${l.class_id}`;

  test("a valid row is saved with the import's rules and written to the audit log", async () => {
    const line = mixedLine();
    const client = await signedIn(t, f.referentA, { page: classPage(line) });
    const form = await client.request(`${rowUrl(t, line.id)}/modifica`, { headers: { "HX-Request": "true" } });
    expect(await form.text()).toContain('class="editing"');
    const hire = isoPlusDays(line.end_date, 5);
    const response = await saveEdit(t, client, line.id, { fascia: "disab", placement: "SI", data: hire, contratto: "DTI", piva: "12345670017", datore: "Rossi S.r.l." });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("salvato");
    expect(html).not.toContain('class="editing"');
    expect(one("SELECT fascia_debole, placed, hire_date, contract_type, employer_vat, employer_name FROM enrollments WHERE id = ?", line.id)).toEqual({
      fascia_debole: "DISAB",
      placed: 1,
      hire_date: hire,
      contract_type: "DTI",
      employer_vat: "12345670017",
      employer_name: "Rossi S.r.l.",
    });
    expect(one<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'enrollment_edit' AND target = ?", `enrollment:${line.id}`).n).toBe(1);
  });

  test("an invalid row is refused with the message in place and nothing changes", async () => {
    const line = mixedLine();
    const before = one("SELECT * FROM enrollments WHERE id = ?", line.id);
    const client = await signedIn(t, f.rpaA, { page: classPage(line) });
    const response = await saveEdit(t, client, line.id, { fascia: "XYZ", placement: "SI", data: line.end_date, contratto: "", piva: "123", datore: "" });
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain('class="editing"');
    for (const message of ["Fascia debole: il codice «XYZ» non esiste", "Data assunzione: deve essere successiva", "Tipo contratto: obbligatorio", "P.IVA datore di lavoro"]) {
      expect(html).toContain(message.replace("«", "«"));
    }
    expect(html).toContain('value="123"');
    expect(one("SELECT * FROM enrollments WHERE id = ?", line.id)).toEqual(before);
  });

  test("a homogeneous class keeps its category whatever is sent", async () => {
    const line = one<{ project_id: number; class_id: number; id: number; category: string }>(
      `SELECT e.project_id, e.class_id, e.id, c.category FROM enrollments e JOIN classes c ON c.id = e.class_id
       WHERE e.agency_id = ? AND c.homogeneous = 1 LIMIT 1`,
      f.agencyA.id,
    );
    const client = await signedIn(t, f.rpaA, { page: classPage(line) });
    const editing = await (await client.request(`${rowUrl(t, line.id)}/modifica`, { headers: { "HX-Request": "true" } })).text();
    expect(editing).not.toContain('name="fascia"');
    await saveEdit(t, client, line.id, { fascia: "NO", placement: "", data: "", contratto: "", piva: "", datore: "" });
    expect(one<{ fascia_debole: string }>("SELECT fascia_debole FROM enrollments WHERE id = ?", line.id).fascia_debole).toBe(line.category);
  });

  test("another agency gets 404; no permission, or the fund, 403; after the deadline it is refused", async () => {
    const line = mixedLine();
    const before = one("SELECT * FROM enrollments WHERE id = ?", line.id);
    const fields = { fascia: "NO", placement: "", data: "", contratto: "", piva: "", datore: "" };

    const other = await signedIn(t, f.rpaB, { page: "/progetti" });
    expect((await other.get(classPage(line))).status).toBe(404);
    expect((await saveEdit(t, other, line.id, fields)).status).toBe(404);

    const operator = await signedIn(t, f.operatorA, { page: "/progetti" });
    expect(await (await operator.get(classPage(line))).text()).not.toContain("Modifica</button>");
    expect((await saveEdit(t, operator, line.id, fields)).status).toBe(403);

    const fund = await signedIn(t, f.fund, { page: "/fondo" });
    expect((await fund.get(classPage(line))).status).toBe(200);
    expect((await saveEdit(t, fund, line.id, fields)).status).toBe(403);

    const saved = t.clock.current;
    const deadline = one<{ deadline: string }>("SELECT deadline FROM campaigns WHERE year = 2019").deadline;
    t.clock.current = new Date(`${deadline}T23:30:00Z`);
    try {
      const late = await signedIn(t, f.rpaA, { page: null });
      const page = await (await late.get(classPage(line))).text();
      expect(page).toContain("La campagna 2019 è chiusa");
      expect(page).not.toContain("Modifica</button>");
      const response = await saveEdit(t, late, line.id, fields);
      expect(response.status).toBe(422);
      expect(await response.text()).toContain("La campagna 2019 è chiusa");
    } finally {
      t.clock.current = saved;
    }
    expect(one("SELECT * FROM enrollments WHERE id = ?", line.id)).toEqual(before);
  });
});

test("after every upload and edit above, the dashboards' counts are the enrollments'", () => expectCountsKept(t.db));
