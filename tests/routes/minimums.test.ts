import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { belowMinimum, recountPlaced } from "../../src/services/minimums.ts";
import { agencyFigures, fundFigures } from "../../src/services/dashboard.ts";
import type { Declaration } from "../../src/services/declarations.ts";
import { writeDeclaration } from "../../src/services/enrollments.ts";
import { signedIn, tables } from "../helpers/flows.ts";
import { createTestApp, fixtures } from "../helpers/test-app.ts";

setDefaultTimeout(30_000);

describe("below the minimum", () => {
  test.each([
    [5, 10, 50, false], // exactly the minimum is not below
    [4, 10, 50, true],
    [1, 3, 33, false],
    [1, 3, 34, true],
    [0, 0, 50, false], // a project without trainees misses nothing
    [0, 10, null, false],
  ])("%i placed of %i with a minimum of %p%%: below is %p", (placed, enrollments, percent, below) => {
    expect(belowMinimum(placed, enrollments, percent)).toBe(below);
  });
});

const t = await createTestApp();
afterAll(() => t.close());
const f = fixtures(t.db);
const { one, all } = tables(t);
const sqlite = t.db.$client;

// A project of agency A with an even number of trainees: half of them placed is exactly 50%.
const project = one<{ id: number; code: string; training_type: string; end_date: string; n: number }>(
  `SELECT p.id, p.code, p.training_type, p.end_date, count(*) AS n FROM projects p JOIN enrollments e ON e.project_id = p.id
   WHERE p.agency_id = ? AND p.year = 2019 GROUP BY p.id HAVING n % 2 = 0 AND n >= 4 ORDER BY p.id LIMIT 1`,
  f.agencyA.id,
);
const others = all<{ id: number }>("SELECT id FROM projects WHERE year = 2019 AND training_type = ? AND id != ?", project.training_type, project.id);
const enrollmentIds = all<{ id: number }>("SELECT id FROM enrollments WHERE project_id = ? ORDER BY id", project.id).map((r) => r.id);
const dayAfter = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString().slice(0, 10);

/** Sets the project's placements: `valid` placed after the project's end, `early` placed on its last day. */
function placeInProject(valid: number, early = 0) {
  sqlite.run("UPDATE enrollments SET placed = 0, hire_date = NULL, contract_type = NULL WHERE project_id = ?", [project.id]);
  enrollmentIds.slice(0, valid + early).forEach((id, i) =>
    sqlite.run("UPDATE enrollments SET placed = 1, hire_date = ?, contract_type = 'STD' WHERE id = ?", [i < valid ? dayAfter(project.end_date, 10) : project.end_date, id]),
  );
  // Every other project of the type reaches any minimum.
  for (const other of others) sqlite.run("UPDATE enrollments SET placed = 1, hire_date = (SELECT date(end_date, '+10 days') FROM projects WHERE id = ?), contract_type = 'STD' WHERE project_id = ?", [other.id, other.id]);
  // Written here without the declarations' writer: the rule's outcome is counted as the master data's writer does.
  recountPlaced(sqlite, null);
}

const fund = await signedIn(t, f.fund, { page: "/amministrazione/campagne?anno=2019" });
const saveMinimum = (value: string) => fund.post("/amministrazione/campagne/2019/minimi", { [`minimo_${project.training_type}`]: value });
const projectOf = () => agencyFigures(t.db, f.agencyA.id, 2019, null).projects.find((p) => p.id === project.id)!;

describe("the fund sets a minimum placement rate per training type and year", () => {
  test.each(["0", "101", "abc", "12.5", "-5"])("%p is refused with a sentence and nothing is saved", async (value) => {
    const answer = await saveMinimum(value);
    expect(answer.status).toBe(422);
    expect(await answer.text()).toContain("scrivi una percentuale intera da 1 a 100");
    expect(all("SELECT * FROM placement_minimums")).toEqual([]);
  });

  test("a valid minimum is saved and audited; the page shows it", async () => {
    const answer = await saveMinimum("50");
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain(`name="minimo_${project.training_type}" min="1" max="100" step="1" value="50"`);
    expect(all("SELECT year, training_type, percent FROM placement_minimums")).toEqual([{ year: 2019, training_type: project.training_type, percent: 50 }]);
    const entry = one<{ detail: string }>("SELECT detail FROM audit_log WHERE action = 'placement_minimums_save'");
    expect(JSON.parse(entry.detail)).toEqual({ changed: { [project.training_type]: 50 } });
  });
});

describe("the rule's outcome kept on the row", () => {
  test.each([
    ["Placement SI hired after the end", { placed: true, hireDate: "after" }, 1],
    ["then hired on the last day", { hireDate: "end" }, 0],
    ["then hired after the end again", { hireDate: "after" }, 1],
    ["then Placement NO", { placed: false }, 0],
    ["then SI with no hire date", { placed: true, hireDate: null }, 0],
    ["then SI and the date in one change", { hireDate: "after" }, 1],
  ] as const)("%s: %p counts %p", (_name, change, counted) => {
    const id = enrollmentIds[0]!;
    const row = one<{ revision: number; placed: number | null; hire_date: string | null }>("SELECT revision, placed, hire_date FROM enrollments WHERE id = ?", id);
    const set: Partial<Declaration> = {};
    if ("placed" in change) set.placed = change.placed;
    if ("hireDate" in change) set.hireDate = change.hireDate === null ? null : change.hireDate === "end" ? project.end_date : dayAfter(project.end_date, 1);
    const before = { fasciaDebole: null, placed: row.placed === null ? null : row.placed === 1, hireDate: row.hire_date, contractType: null, employerVat: null, employerName: null };
    const written = sqlite.transaction(() => writeDeclaration(sqlite, { id, revision: row.revision }, before, set, { userId: null, at: Date.now(), source: "edit" }))();
    expect(written).toBe(true);
    expect(one<{ counts_as_placed: number }>("SELECT counts_as_placed FROM enrollments WHERE id = ?", id).counts_as_placed).toBe(counted);
  });
});

describe("projects against their minimum", () => {
  test("exactly the minimum is not below", () => {
    placeInProject(project.n / 2);
    expect(projectOf()).toMatchObject({ minimum: 50, placed: project.n / 2, belowMinimum: false });
  });

  test("one placed fewer is below; a hire date on the project's last day does not count as placed", () => {
    placeInProject(project.n / 2 - 1, 1);
    expect(projectOf()).toMatchObject({ minimum: 50, placed: project.n / 2 - 1, belowMinimum: true });
    const row = fundFigures(t.db, 2019).find((a) => a.id === f.agencyA.id)!;
    expect(row.projectsBelow).toBe(1);
    expect(fundFigures(t.db, 2019).find((a) => a.id === f.agencyB.id)!.projectsBelow).toBe(0);
  });

  test("the agency's dashboard marks the project; the fund's table counts it", async () => {
    const clerk = await signedIn(t, f.rpaA, { page: null });
    const dashboard = await (await clerk.get("/placement?anno=2019")).text();
    const rowHtml = dashboard.slice(dashboard.indexOf(`data-project="${project.code}"`), dashboard.indexOf("</tr>", dashboard.indexOf(`data-project="${project.code}"`)));
    expect(rowHtml).toContain("sotto il minimo del 50%");
    expect(dashboard).toContain("Progetti sotto il minimo di placement");
    const table = await (await fund.get("/fondo?anno=2019")).text();
    const agencyRow = table.slice(table.indexOf(`data-agency="${f.agencyA.code}"`), table.indexOf("</tr>", table.indexOf(`data-agency="${f.agencyA.code}"`)));
    expect(agencyRow).toContain('<td class="num ko-count">1</td>');
  });

  test("emptying the field removes the minimum, audited", async () => {
    expect((await saveMinimum("")).status).toBe(200);
    expect(all("SELECT * FROM placement_minimums")).toEqual([]);
    expect(projectOf()).toMatchObject({ minimum: null, belowMinimum: false });
    const last = one<{ detail: string }>("SELECT detail FROM audit_log WHERE action = 'placement_minimums_save' ORDER BY id DESC LIMIT 1");
    expect(JSON.parse(last.detail)).toEqual({ changed: { [project.training_type]: null } });
  });
});
