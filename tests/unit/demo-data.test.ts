import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Db } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { campaignState, getCampaign } from "../../src/services/campaigns.ts";
import { decodeBirth, validateCodiceFiscale } from "../../src/services/codice-fiscale.ts";
import { DEMO_DATASET, generateDataset, type DatasetSummary } from "../../src/services/demo-data.ts";
import { validatePartitaIva } from "../../src/services/partita-iva.ts";
import { queries, type Queries } from "../helpers/flows.ts";
import { TestClock } from "../helpers/test-app.ts";

let dir: string;
let db: Db;
let summary: DatasetSummary;
const clock = new TestClock(new Date("2026-03-10T09:00:00Z"));
let one: Queries["one"];
let all: Queries["all"];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "placement-demo-"));
  db = openDatabase(join(dir, "placement.db"));
  migrate(db);
  ({ one, all } = queries(db));
  summary = await generateDataset(db, clock, DEMO_DATASET);
});
afterAll(() => {
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("demo dataset", () => {
  test("has the size the README promises", () => {
    expect(summary.agencies).toBe(3);
    expect(summary.enrollments).toBe(6000);
    expect(summary.projects).toBeGreaterThanOrEqual(45);
    expect(summary.projects).toBeLessThanOrEqual(80);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM enrollments").n).toBe(6000);
  });

  test("every codice fiscale is valid and agrees with the birth date", () => {
    const rows = all<{ codice_fiscale: string; birth_date: string }>("SELECT codice_fiscale, birth_date FROM participants");
    for (const row of rows) {
      expect(validateCodiceFiscale(row.codice_fiscale).ok, row.codice_fiscale).toBe(true);
      expect(decodeBirth(row.codice_fiscale)?.birthDate, row.codice_fiscale).toBe(row.birth_date);
    }
    const sexes = new Set(rows.map((r) => decodeBirth(r.codice_fiscale)?.sex));
    expect(sexes).toEqual(new Set(["M", "F"]));
    const omocodia = rows.filter((r) => /[LMNPQRSTUV]/.test(r.codice_fiscale.slice(12, 15)));
    expect(omocodia.length).toBeGreaterThan(0);
  });

  test("some trainees attend more than one project", () => {
    const repeated = one<{ n: number }>(
      "SELECT count(*) AS n FROM (SELECT participant_id FROM enrollments GROUP BY participant_id HAVING count(DISTINCT project_id) > 1)",
    );
    expect(repeated.n).toBeGreaterThan(0);
  });

  test("each mixed class has trainees; homogeneous classes carry their category", () => {
    const empty = one<{ n: number }>(
      "SELECT count(*) AS n FROM classes c WHERE NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.class_id = c.id)",
    );
    expect(empty.n).toBe(0);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM classes WHERE homogeneous = 0").n).toBeGreaterThan(0);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM classes WHERE homogeneous = 1 AND category IS NULL").n).toBe(0);
    expect(one<{ n: number }>("SELECT count(*) AS n FROM classes WHERE homogeneous = 0 AND category IS NOT NULL").n).toBe(0);
    const mismatched = one<{ n: number }>(
      "SELECT count(*) AS n FROM enrollments e JOIN classes c ON c.id = e.class_id WHERE c.homogeneous = 1 AND e.fascia_debole IS NOT c.category",
    );
    expect(mismatched.n).toBe(0);
  });

  test("copied columns of enrollments agree with their project", () => {
    const wrong = one<{ n: number }>(
      `SELECT count(*) AS n FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = c.project_id
       WHERE e.project_id != p.id OR e.agency_id != p.agency_id OR e.year != p.year`,
    );
    expect(wrong.n).toBe(0);
  });

  test("placement data follows the rules of the import", () => {
    const placed = all<{ hire_date: string; end_date: string; contract_type: string; employer_vat: string }>(
      "SELECT e.hire_date, p.end_date, e.contract_type, e.employer_vat FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE e.placed = 1",
    );
    expect(placed.length).toBeGreaterThan(0);
    for (const row of placed) {
      expect(row.hire_date > row.end_date).toBe(true);
      expect(row.contract_type).toBeTruthy();
      expect(validatePartitaIva(row.employer_vat).ok).toBe(true);
    }
    const declared = all<{ v: string }>("SELECT DISTINCT fascia_debole AS v FROM enrollments WHERE fascia_debole IS NOT NULL");
    expect(declared.map((d) => d.v)).toContain("NO");
    expect(one<{ n: number }>("SELECT count(*) AS n FROM enrollments WHERE fascia_debole IS NULL").n).toBeGreaterThan(0);
  });

  test("each agency has an rpa, a referent with the permission and an operator without; one fund operator", () => {
    const users = all<{ agency_id: number | null; role: string; placement_permission: number }>(
      "SELECT agency_id, role, placement_permission FROM users ORDER BY agency_id, role",
    );
    expect(users.filter((u) => u.role === "fund_operator")).toHaveLength(1);
    for (const agency of all<{ id: number }>("SELECT id FROM agencies")) {
      const own = users.filter((u) => u.agency_id === agency.id);
      expect(own.map((u) => [u.role, u.placement_permission])).toEqual([
        ["operator", 0],
        ["referent", 1],
        ["rpa", 1],
      ]);
    }
  });

  test("the 2019 campaign is open and ends 30 days after loading", () => {
    const campaign = getCampaign(db, 2019)!;
    expect(campaign.deadline).toBe("2026-04-09");
    expect(campaignState(campaign, clock.now())).toBe("open");
  });

  test("the same seed gives the same dataset; a second run is refused", async () => {
    await expect(generateDataset(db, clock, DEMO_DATASET)).rejects.toThrow("already has agencies");
    const other = openDatabase(join(dir, "again.db"));
    migrate(other);
    await generateDataset(other, clock, DEMO_DATASET);
    const codes = (d: Db) => d.$client.query("SELECT codice_fiscale FROM participants ORDER BY id").all();
    expect(codes(other)).toEqual(codes(db));
    other.$client.close();
  });
});

test("a dataset over several campaign years: the latest open, the earlier closed, the enrollments spread evenly", async () => {
  const folder = mkdtempSync(join(tmpdir(), "placement-demo-years-"));
  const years = openDatabase(join(folder, "placement.db"));
  try {
    migrate(years);
    const made = await generateDataset(years, clock, { agencies: 2, enrollments: 3001, year: 2019, years: 3 });
    expect(made.enrollments).toBe(3001);
    const { all: rows } = queries(years);
    expect(rows<{ year: number; n: number }>("SELECT year, count(*) AS n FROM enrollments GROUP BY year ORDER BY year")).toEqual([
      { year: 2017, n: 1000 },
      { year: 2018, n: 1000 },
      { year: 2019, n: 1001 },
    ]);
    expect([2017, 2018, 2019].map((y) => campaignState(getCampaign(years, y)!, clock.now()))).toEqual(["closed", "closed", "open"]);
    expect(rows<{ n: number }>("SELECT count(*) AS n FROM enrollments e JOIN projects p ON p.id = e.project_id WHERE p.year != e.year")[0]!.n).toBe(0);
  } finally {
    years.$client.close();
    rmSync(folder, { recursive: true, force: true });
  }
});
