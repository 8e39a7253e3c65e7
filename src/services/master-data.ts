import type { Database } from "bun:sqlite";
import type { Db } from "../db/client.ts";
import { MASTER_COLUMNS, type MasterRowValues } from "../sheets/master-columns.ts";
import type { SheetRow } from "../sheets/xlsx-reader.ts";
import { validateCodiceFiscale } from "./codice-fiscale.ts";
import { parseItalianDate, readCell, readingOf } from "../sheets/cells.ts";
import { ENROLLMENT_SQL, toEnrollment, writeDeclaration } from "./enrollments.ts";
import { recountPlaced } from "./minimums.ts";
import type { RowOutcome } from "./uploads.ts";

/*
 * Loading the fund's master data: projects, classes, trainees and enrollments, one
 * enrollment per row. Rows are checked against the reference lists, against each other
 * and against what is on record; then applied, creating what is new and updating titles,
 * dates and classes, never the agencies' declarations.
 */

type Project = { agencyId: number; code: string; title: string; trainingType: string; year: number; startDate: string; endDate: string };
type Klass = { homogeneous: boolean; category: string | null };
type Person = { surname: string; name: string; birthDate: string | null };

export type MasterPlanRow = { project: Project; classCode: string; klass: Klass; codiceFiscale: string; person: Person };

const READING = new Map(
  MASTER_COLUMNS.map((c) => [c.key, readingOf({ header: c.header, kind: c.date ? "date" : "text", elevenDigits: c.elevenDigits })]),
);

/** What is on record, as keys to compare with: read once per load. */
function snapshot(db: Db) {
  const sqlite = db.$client;
  const agencies = new Map(
    (sqlite.query("SELECT id, code FROM agencies").all() as { id: number; code: string }[]).map((a) => [a.code, a.id]),
  );
  const projects = new Map(
    (sqlite.query("SELECT agency_id AS agencyId, code, title, training_type AS trainingType, year, start_date AS startDate, end_date AS endDate FROM projects").all() as Project[]).map(
      (p) => [`${p.agencyId}|${p.code}`, p],
    ),
  );
  const classes = new Map(
    (sqlite.query("SELECT p.agency_id || '|' || p.code || '|' || c.code AS key, c.homogeneous, c.category FROM classes c JOIN projects p ON p.id = c.project_id").all() as {
      key: string;
      homogeneous: number;
      category: string | null;
    }[]).map((c) => [c.key, { homogeneous: c.homogeneous === 1, category: c.category }]),
  );
  const people = new Map(
    (sqlite.query("SELECT codice_fiscale AS cf, surname, name, birth_date AS birthDate FROM participants").all() as (Person & { cf: string })[]).map(
      (p) => [p.cf, { surname: p.surname, name: p.name, birthDate: p.birthDate }],
    ),
  );
  const enrollments = new Set(
    (sqlite.query(
      "SELECT p.agency_id || '|' || p.code || '|' || c.code || '|' || pa.codice_fiscale AS key FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = c.project_id JOIN participants pa ON pa.id = e.participant_id",
    ).all() as { key: string }[]).map((r) => r.key),
  );
  const codes = (table: string) =>
    new Set((sqlite.query(`SELECT code FROM ${table} WHERE active = 1`).all() as { code: string }[]).map((r) => r.code));
  return { agencies, projects, classes, people, enrollments, trainingTypes: codes("training_types"), categories: codes("vulnerable_categories") };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class MasterEvaluator {
  private state: ReturnType<typeof snapshot>;
  readonly rows: (RowOutcome & { plan: MasterPlanRow | null })[] = [];
  // Values set by earlier rows of this file, with the line that set them.
  private seen = new Map<string, { value: unknown; line: number }>();

  constructor(
    db: Db,
    private positions: Map<keyof MasterRowValues, number>,
  ) {
    this.state = snapshot(db);
  }

  add(row: SheetRow): void {
    const errors: string[] = [];
    const value = (key: keyof MasterRowValues) => {
      const index = this.positions.get(key);
      const read = readCell(index === undefined ? null : row.cells[index], READING.get(key)!);
      if ("error" in read) {
        errors.push(read.error);
        return "";
      }
      return read.text;
    };
    const v = Object.fromEntries(MASTER_COLUMNS.map((c) => [c.key, value(c.key)])) as MasterRowValues;
    const outcome = { line: row.line, cells: row.cells, outcome: "KO" as RowOutcome["outcome"], message: null as string | null, enrollmentId: null, change: null, plan: null as MasterPlanRow | null };
    this.rows.push(outcome);

    const agencyCode = v.agencyCode.toUpperCase();
    const agencyId = this.state.agencies.get(agencyCode);
    if (!agencyCode) errors.push("Codice agenzia: mancante.");
    else if (agencyId === undefined) errors.push(`Codice agenzia: l'agenzia «${agencyCode}» non esiste; creala in Amministrazione.`);
    for (const [key, label] of [["projectCode", "Codice progetto"], ["projectTitle", "Titolo progetto"], ["classCode", "Codice aula"], ["surname", "Cognome"], ["name", "Nome"]] as const) {
      if (!v[key]) errors.push(`${label}: mancante.`);
    }
    const trainingType = v.trainingType.toUpperCase();
    if (!this.state.trainingTypes.has(trainingType)) errors.push(`Tipologia formativa: il codice «${v.trainingType}» non esiste.`);
    const year = Number(v.year);
    if (!Number.isInteger(year) || year < 2000 || year > 2100) errors.push(`Anno: «${v.year}» non è un anno valido.`);
    const startDate = parseItalianDate(v.startDate);
    const endDate = parseItalianDate(v.endDate);
    if (!startDate) errors.push(`Data inizio: «${v.startDate}» non è una data valida; scrivila come gg/mm/aaaa.`);
    if (!endDate) errors.push(`Data fine: «${v.endDate}» non è una data valida; scrivila come gg/mm/aaaa.`);
    if (startDate && endDate && endDate < startDate) errors.push("Data fine: precede la data di inizio.");
    const homogeneous = v.homogeneous.toUpperCase();
    const category = v.classCategory.toUpperCase();
    if (homogeneous !== "SI" && homogeneous !== "NO") errors.push("Aula omogenea: scrivi SI o NO.");
    else if (homogeneous === "SI" && !this.state.categories.has(category)) {
      errors.push("Categoria aula: con aula omogenea serve un codice della categoria fasce deboli.");
    } else if (homogeneous === "NO" && category) errors.push("Categoria aula: lasciala vuota per un'aula non omogenea.");
    const cf = validateCodiceFiscale(v.codiceFiscale);
    if (!cf.ok) errors.push(`Codice fiscale: ${cf.error}`);
    const birthDate = v.birthDate ? parseItalianDate(v.birthDate) : null;
    if (v.birthDate && !birthDate) errors.push(`Data di nascita: «${v.birthDate}» non è una data valida.`);

    if (errors.length === 0 && agencyId !== undefined && cf.ok) {
      const plan: MasterPlanRow = {
        project: { agencyId, code: v.projectCode, title: v.projectTitle, trainingType, year, startDate: startDate!, endDate: endDate! },
        classCode: v.classCode,
        klass: { homogeneous: homogeneous === "SI", category: homogeneous === "SI" ? category : null },
        codiceFiscale: cf.value,
        person: { surname: v.surname.toUpperCase(), name: v.name.toUpperCase(), birthDate },
      };
      const projectKey = `${agencyId}|${plan.project.code}`;
      const classKey = `${projectKey}|${plan.classCode}`;
      const checks: [string, unknown, string][] = [
        [`project:${projectKey}`, plan.project, `il progetto ${plan.project.code}`],
        [`class:${classKey}`, plan.klass, `l'aula ${plan.classCode}`],
        [`person:${cf.value}`, plan.person, `l'allievo ${cf.value.slice(0, 6)}…`],
      ];
      for (const [key, planned, what] of checks) {
        const earlier = this.seen.get(key);
        if (earlier && !same(earlier.value, planned)) errors.push(`Dati diversi da quelli della riga ${earlier.line} per ${what}: correggi una delle due righe.`);
      }
      if (errors.length === 0) {
        for (const [key, planned] of checks) if (!this.seen.has(key)) this.seen.set(key, { value: planned, line: row.line });
        const enrollmentKey = `${classKey}|${cf.value}`;
        const unchanged =
          same(this.state.projects.get(projectKey), plan.project) &&
          same(this.state.classes.get(classKey), plan.klass) &&
          same(this.state.people.get(cf.value), plan.person) &&
          this.state.enrollments.has(enrollmentKey);
        // What this row sets counts as on record for the rows after it.
        this.state.projects.set(projectKey, plan.project);
        this.state.classes.set(classKey, plan.klass);
        this.state.people.set(cf.value, plan.person);
        this.state.enrollments.add(enrollmentKey);
        outcome.outcome = unchanged ? "INVARIATO" : "OK";
        outcome.plan = unchanged ? null : plan;
        return;
      }
    }
    outcome.message = errors.join(" ");
  }

  counts() {
    const count = (o: RowOutcome["outcome"]) => this.rows.filter((r) => r.outcome === o).length;
    return { total: this.rows.length, ok: count("OK"), ko: count("KO"), unchanged: count("INVARIATO") };
  }
}

/**
 * Applies the rows that change something, inside the caller's transaction (the one that
 * closes the job). Declarations stay; homogeneous classes keep their enrollments on the
 * class category.
 */
export function applyMasterData(sqlite: Database, job: { id: number; userId: number }, evaluator: MasterEvaluator, now: number): void {
    const project = sqlite.query(
      `INSERT INTO projects (agency_id, code, title, training_type, year, start_date, end_date) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agency_id, code) DO UPDATE SET title = excluded.title, training_type = excluded.training_type,
         year = excluded.year, start_date = excluded.start_date, end_date = excluded.end_date RETURNING id`,
    );
    const klass = sqlite.query(
      `INSERT INTO classes (project_id, code, homogeneous, category) VALUES (?, ?, ?, ?)
       ON CONFLICT (project_id, code) DO UPDATE SET homogeneous = excluded.homogeneous, category = excluded.category RETURNING id`,
    );
    const person = sqlite.query(
      `INSERT INTO participants (codice_fiscale, surname, name, birth_date) VALUES (?, ?, ?, ?)
       ON CONFLICT (codice_fiscale) DO UPDATE SET surname = excluded.surname, name = excluded.name,
         birth_date = coalesce(excluded.birth_date, participants.birth_date) RETURNING id`,
    );
    const enroll = sqlite.query(
      `INSERT INTO enrollments (class_id, participant_id, project_id, agency_id, year, homogeneous, fascia_debole)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (class_id, participant_id) DO NOTHING`,
    );
    const touchedClasses = new Set<number>();
    const touchedProjects = new Set<number>();
    for (const row of evaluator.rows) {
      const plan = row.plan;
      if (row.outcome !== "OK" || !plan) continue;
      const p = plan.project;
      const { id: projectId } = project.get(p.agencyId, p.code, p.title, p.trainingType, p.year, p.startDate, p.endDate) as { id: number };
      const { id: classId } = klass.get(projectId, plan.classCode, plan.klass.homogeneous ? 1 : 0, plan.klass.category) as { id: number };
      const { id: personId } = person.get(plan.codiceFiscale, plan.person.surname, plan.person.name, plan.person.birthDate) as { id: number };
      enroll.run(classId, personId, projectId, p.agencyId, p.year, plan.klass.homogeneous ? 1 : 0, plan.klass.category);
      touchedClasses.add(classId);
      touchedProjects.add(projectId);
    }
    // A project's end decides which of its placed trainees count as placed.
    for (const projectId of touchedProjects) recountPlaced(sqlite, projectId);
    // A homogeneous class's category is its enrollments' fascia: a change recorded in their history.
    const stale = sqlite.query(
      `${ENROLLMENT_SQL} WHERE e.class_id = ? AND c.homogeneous = 1 AND e.fascia_debole IS NOT c.category`,
    );
    const stored = sqlite.query("SELECT fascia_debole AS fasciaDebole FROM enrollments WHERE id = ?");
    // The copied columns follow their class and project.
    const sync = sqlite.query(
      `UPDATE enrollments SET homogeneous = c.homogeneous, year = p.year
       FROM classes c JOIN projects p ON p.id = c.project_id
       WHERE enrollments.class_id = c.id AND c.id = ?`,
    );
    const by = { userId: job.userId, at: now, source: "master" as const, masterDataJobId: job.id };
    for (const classId of touchedClasses) {
      for (const raw of stale.all(classId)) {
        const e = toEnrollment(raw);
        const before = { ...e, ...(stored.get(e.enrollmentId) as { fasciaDebole: string | null }) };
        writeDeclaration(sqlite, { id: e.enrollmentId, revision: e.revision }, before, { fasciaDebole: e.classCategory }, by);
      }
      sync.run(classId);
    }
}

const MASTER_JOB_SQL = `SELECT j.id, j.file_name AS fileName, j.status, j.rows_total AS rowsTotal, j.rows_ok AS rowsOk,
    j.rows_ko AS rowsKo, j.rows_unchanged AS rowsUnchanged, j.outcome_path AS outcomePath, j.error,
    j.created_at AS createdAt, j.file_format AS fileFormat, u.name AS uploadedBy
  FROM master_data_jobs j JOIN users u ON u.id = j.user_id`;

export type MasterJob = {
  id: number;
  fileName: string;
  status: "queued" | "running" | "done" | "done_with_errors" | "failed";
  rowsTotal: number | null;
  rowsOk: number | null;
  rowsKo: number | null;
  rowsUnchanged: number | null;
  outcomePath: string | null;
  error: string | null;
  createdAt: number;
  fileFormat: string;
  uploadedBy: string;
};

export function listMasterJobs(db: Db, limit = 50): MasterJob[] {
  return db.$client.query(`${MASTER_JOB_SQL} ORDER BY j.id DESC LIMIT ?`).all(limit) as MasterJob[];
}

export function getMasterJob(db: Db, id: number): MasterJob | undefined {
  return (db.$client.query(`${MASTER_JOB_SQL} WHERE j.id = ?`).get(id) as MasterJob | null) ?? undefined;
}
