import type { Database } from "bun:sqlite";
import type { Db } from "../db/client.ts";
import type { ChangeSource } from "../db/schema.ts";
import { versionText, type RowVersion } from "../sheets/cells.ts";
import type { User } from "./auth.ts";
import { localDate } from "../format.ts";
import type { Clock } from "./clock.ts";
import {
  DECLARATION_FIELDS,
  judgeDeclaration,
  type ChangeAuthor,
  type Declaration,
  type DeclarationField,
  type DeclarationInput,
  type EnrollmentFacts,
  type Judgement,
  type SinceVersion,
} from "./declarations.ts";
import { countsAsPlaced } from "./minimums.ts";
import { referenceCodes } from "./reference-lists.ts";
import type { Scope } from "./scope.ts";

/** An enrollment as the pages, the files and the rules see it. */
export type Enrollment = EnrollmentFacts & {
  agencyId: number;
  year: number;
  projectCode: string;
  projectTitle: string;
  trainingType: string;
  classCode: string;
  codiceFiscale: string;
  surname: string;
  name: string;
};

// What the rules need of an enrollment: the key of its row in a file and its facts.
const FACT_COLUMNS = `e.id AS enrollmentId, e.revision, c.homogeneous, c.category AS classCategory,
         p.code AS projectCode, p.end_date AS projectEndDate, c.code AS classCode, pa.codice_fiscale AS codiceFiscale,
         CASE WHEN c.homogeneous = 1 THEN c.category ELSE e.fascia_debole END AS fasciaDebole,
         e.placed, e.hire_date AS hireDate, e.contract_type AS contractType, e.employer_vat AS employerVat,
         e.employer_name AS employerName`;
const ENROLLMENT_FROM = `FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = e.project_id
  JOIN participants pa ON pa.id = e.participant_id`;

/**
 * The one reading of enrollments. In a homogeneous class the fascia debole is the class's
 * category, whatever was declared before the class became homogeneous.
 */
export const ENROLLMENT_SQL = enrollmentSql();

/** The reading of enrollments with more columns, from more tables joined after the usual ones. */
export function enrollmentSql(more: { columns: string; joins: string } = { columns: "", joins: "" }): string {
  return `
  SELECT ${FACT_COLUMNS}, e.agency_id AS agencyId, e.year, p.title AS projectTitle, p.training_type AS trainingType, pa.surname, pa.name
         ${more.columns ? `, ${more.columns}` : ""}
  ${ENROLLMENT_FROM} ${more.joins}`;
}

/**
 * The same reading with only what the rules need: an upload holds every enrollment of its
 * campaign, and names and titles would double that memory.
 */
export const FACTS_SQL = `SELECT ${FACT_COLUMNS} ${ENROLLMENT_FROM}`;

/** An enrollment as the rules of an upload see it, with the key of its row in a file. */
export type KeyedFacts = EnrollmentFacts & Pick<Enrollment, "projectCode" | "classCode" | "codiceFiscale">;

/** A row of ENROLLMENT_SQL (or FACTS_SQL) with its flags as booleans. */
export function toEnrollment<T extends KeyedFacts = Enrollment>(raw: unknown): T {
  const row = raw as Omit<T, "homogeneous" | "placed"> & { homogeneous: number; placed: number | null };
  return { ...row, homogeneous: row.homogeneous === 1, placed: row.placed === null ? null : row.placed === 1 } as T;
}

/** The "Versione" written in files and forms for the enrollment as it is now. */
export const currentVersion = (e: Pick<EnrollmentFacts, "enrollmentId" | "revision">) =>
  versionText({ enrollmentId: e.enrollmentId, revision: e.revision });

// The scope as a bound parameter: null lets the fund see every agency.
const scopeParams = (scope: Scope) => ({ agency: scope.agencyId === "all" ? null : scope.agencyId });

/** The class of a project in scope, with its trainees; null when either is not in scope. */
export function classRoster(db: Db, scope: Scope, projectId: number, classId: number) {
  const cls = db.$client
    .query(
      `SELECT c.id, c.code, c.homogeneous, c.category, p.id AS projectId, p.code AS projectCode, p.title AS projectTitle,
              p.year, p.end_date AS projectEndDate, p.agency_id AS agencyId
       FROM classes c JOIN projects p ON p.id = c.project_id
       WHERE c.id = $class AND p.id = $project AND ($agency IS NULL OR p.agency_id = $agency)`,
    )
    .get({ class: classId, project: projectId, ...scopeParams(scope) }) as {
    id: number;
    code: string;
    homogeneous: number;
    category: string | null;
    projectId: number;
    projectCode: string;
    projectTitle: string;
    year: number;
    projectEndDate: string;
    agencyId: number;
  } | null;
  if (!cls) return null;
  const lines = db.$client
    .query(`${ENROLLMENT_SQL} WHERE e.class_id = $class AND ($agency IS NULL OR e.agency_id = $agency) ORDER BY pa.surname, pa.name, pa.codice_fiscale`)
    .all({ class: classId, ...scopeParams(scope) })
    .map(toEnrollment);
  return { ...cls, homogeneous: cls.homogeneous === 1, lines };
}

export type ClassRoster = NonNullable<ReturnType<typeof classRoster>>;

/** The classes of a project in scope, each with its trainees, in class order. */
export function projectRoster(db: Db, scope: Scope, projectId: number) {
  const classes = db.$client
    .query(
      `SELECT c.id, c.code, c.homogeneous, c.category FROM classes c JOIN projects p ON p.id = c.project_id
       WHERE p.id = $project AND ($agency IS NULL OR p.agency_id = $agency) ORDER BY c.code`,
    )
    .all({ project: projectId, ...scopeParams(scope) }) as { id: number; code: string; homogeneous: number; category: string | null }[];
  const lines = db.$client
    .query(`${ENROLLMENT_SQL} WHERE e.project_id = $project AND ($agency IS NULL OR e.agency_id = $agency) ORDER BY pa.surname, pa.name, pa.codice_fiscale`)
    .all({ project: projectId, ...scopeParams(scope) })
    .map(toEnrollment);
  const byClass = Map.groupBy(lines, (line) => line.classCode);
  return classes.map((c) => ({ ...c, homogeneous: c.homogeneous === 1, trainees: byClass.get(c.code) ?? [] }));
}

/** One trainee of a class in scope, or null. */
export function traineeLine(db: Db, scope: Scope, classId: number, enrollmentId: number): Enrollment | null {
  const raw = db.$client
    .query(`${ENROLLMENT_SQL} WHERE e.id = $enrollment AND e.class_id = $class AND ($agency IS NULL OR e.agency_id = $agency)`)
    .get({ enrollment: enrollmentId, class: classId, ...scopeParams(scope) });
  return raw ? toEnrollment(raw) : null;
}

/** Who changes an enrollment, when, and through what. */
export type ChangeBy = { userId: number | null; at: number; source: ChangeSource; uploadJobId?: number; masterDataJobId?: number };

// History keeps values as text; a flag as the clerk writes it.
const storedText = (value: string | boolean | null) => (value === null ? null : typeof value === "boolean" ? (value ? "SI" : "NO") : value);
const storedValue = (field: DeclarationField, text: string | null) => (text === null ? null : field === "placed" ? text === "SI" : text);

const COLUMN: Record<DeclarationField, string> = {
  fasciaDebole: "fascia_debole",
  placed: "placed",
  hireDate: "hire_date",
  contractType: "contract_type",
  employerVat: "employer_vat",
  employerName: "employer_name",
};

const RECORD_CHANGE = `INSERT INTO enrollment_changes (enrollment_id, revision, at, user_id, source, import_job_id, master_data_job_id, field, old_value, new_value)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// One text per set of fields, built once: an upload writes tens of thousands of rows, and
// building the text for each was garbage the size of the sheet (bench:import).
const updateTexts = new Map<string, string>();

/** The UPDATE of those fields; its parameters are their values, then who, when, the id and the revision. */
function updateText(fields: readonly DeclarationField[]): string {
  const key = fields.join();
  let text = updateTexts.get(key);
  if (text === undefined) {
    // An UPDATE's expressions read the row as it was: the rule is given the new values.
    const recount = fields.includes("placed") || fields.includes("hireDate");
    const newValue = (field: "placed" | "hireDate") => (fields.includes(field) ? `?${fields.indexOf(field) + 1}` : COLUMN[field]);
    const rest = fields.length + 1;
    text = `UPDATE enrollments SET ${fields.map((f, i) => `${COLUMN[f]} = ?${i + 1}`).join(", ")}, revision = revision + 1,
            ${recount ? `counts_as_placed = ${countsAsPlaced(newValue("placed"), newValue("hireDate"), "enrollments.project_id")},` : ""}
            updated_by_user_id = ?${rest}, updated_by_import_job_id = ?${rest + 1}, updated_at = ?${rest + 2}
     WHERE id = ?${rest + 3} AND revision = ?${rest + 4}`;
    updateTexts.set(key, text);
  }
  return text;
}

/**
 * The one writer of declarations: sets `set` on the enrollment, moves its revision on and
 * records the history of each field. Call it inside a transaction. False, and nothing
 * written, when the enrollment is no longer at `revision`: someone changed it meanwhile.
 */
export function writeDeclaration(
  sqlite: Database,
  enrollment: { id: number; revision: number },
  before: Declaration,
  set: Partial<Declaration>,
  by: ChangeBy,
): boolean {
  const fields = DECLARATION_FIELDS.filter((f) => f in set);
  if (fields.length === 0) return true;
  // query(), not prepare(): the connection keeps one statement per text and finalizes them
  // when it closes, so that a job's connection closes at once and leaves no lock behind.
  const values = fields.map((f) => {
    const value = set[f]!;
    return typeof value === "boolean" ? (value ? 1 : 0) : value;
  });
  const update = sqlite.query(updateText(fields));
  const result = update.run(...values, by.userId, by.uploadJobId ?? null, by.at, enrollment.id, enrollment.revision);
  if (result.changes !== 1) return false;
  const record = sqlite.query(RECORD_CHANGE);
  for (const field of fields) {
    record.run(
      enrollment.id,
      enrollment.revision + 1,
      by.at,
      by.userId,
      by.source,
      by.uploadJobId ?? null,
      by.masterDataJobId ?? null,
      field,
      storedText(before[field]),
      storedText(set[field]!),
    );
  }
  return true;
}

type ChangeRow = {
  field: DeclarationField;
  old_value: string | null;
  new_value: string | null;
  revision: number;
  at: number;
  source: ChangeSource;
  import_job_id: number | null;
  master_data_job_id: number | null;
  user_name: string | null;
};

const CHANGES_SQL = `SELECT c.field, c.old_value, c.new_value, c.revision, c.at, c.source, c.import_job_id, c.master_data_job_id,
       u.name AS user_name
  FROM enrollment_changes c LEFT JOIN users u ON u.id = c.user_id`;

const authorOf = (row: ChangeRow): ChangeAuthor => ({
  at: row.at,
  by: row.user_name,
  source: row.source,
  jobId: row.source === "upload" ? row.import_job_id : row.source === "master" ? row.master_data_job_id : null,
});

/** What changed after `revision`: the value each field had then, and who changed it last. */
export function changesSince(sqlite: Database, enrollmentId: number, revision: number): SinceVersion {
  const rows = sqlite.query(`${CHANGES_SQL} WHERE c.enrollment_id = ? AND c.revision > ? ORDER BY c.revision, c.id`).all(
    enrollmentId,
    revision,
  ) as ChangeRow[];
  const since: SinceVersion = { before: {}, changedBy: {} };
  for (const row of rows) {
    if (!(row.field in since.before)) (since.before as Record<string, unknown>)[row.field] = storedValue(row.field, row.old_value);
    since.changedBy[row.field] = authorOf(row);
  }
  return since;
}

export type HistoryEntry = ChangeAuthor & { field: DeclarationField; oldValue: string | null; newValue: string | null; revision: number };

/** Every change of an enrollment in scope, newest first. */
export function enrollmentHistory(db: Db, scope: Scope, enrollmentId: number): HistoryEntry[] {
  const rows = db.$client
    .query(
      `${CHANGES_SQL} JOIN enrollments e ON e.id = c.enrollment_id
       WHERE c.enrollment_id = $enrollment AND ($agency IS NULL OR e.agency_id = $agency) ORDER BY c.revision DESC, c.id`,
    )
    .all({ enrollment: enrollmentId, ...scopeParams(scope) }) as ChangeRow[];
  return rows.map((r) => ({ ...authorOf(r), field: r.field, oldValue: r.old_value, newValue: r.new_value, revision: r.revision }));
}

/**
 * What changed since the version a file row or a form names: null when it names none (the
 * two-way rule applies); "other" when it is another enrollment's, "unknown" when this
 * enrollment never had it.
 */
export function sinceVersion(
  sqlite: Database,
  facts: Pick<EnrollmentFacts, "enrollmentId" | "revision">,
  version: RowVersion | null,
): SinceVersion | null | "other" | "unknown" {
  if (!version) return null;
  if (version.enrollmentId !== facts.enrollmentId) return "other";
  if (version.revision > facts.revision) return "unknown";
  return version.revision === facts.revision ? { before: {}, changedBy: {} } : changesSince(sqlite, facts.enrollmentId, version.revision);
}

/**
 * Judges one trainee's declaration as edited on the page, by the import's rules, and saves
 * it; all in one transaction, so that a change made meanwhile is seen, never overwritten.
 * The caller has checked scope, permission and the campaign window.
 */
export function saveDeclaration(
  db: Db,
  clock: Clock,
  user: User,
  line: Enrollment,
  form: { input: DeclarationInput; version: RowVersion | null },
  /** Records the change, in the same transaction, so that a change is never saved unrecorded. */
  onSaved: (set: Partial<Declaration>) => void,
): Judgement {
  const sqlite = db.$client;
  const now = clock.now();
  return sqlite.transaction((): Judgement => {
    const current = traineeLineById(sqlite, line.enrollmentId) ?? line;
    const since = sinceVersion(sqlite, current, form.version);
    if (since === "other" || since === "unknown") {
      return { ok: false, errors: ["La riga non corrisponde più a questa iscrizione: annulla e riapri la modifica."] };
    }
    const judgement = judgeDeclaration(form.input, current, {
      mode: "form",
      codes: referenceCodes(db),
      today: localDate(now, "Europe/Rome"),
      since,
    });
    if (!judgement.ok || judgement.unchanged) return judgement;
    writeDeclaration(sqlite, { id: current.enrollmentId, revision: current.revision }, current, judgement.set, {
      userId: user.id,
      at: now.getTime(),
      source: "edit",
    });
    onSaved(judgement.set);
    return judgement;
    // Immediate: a transaction that reads and then writes must hold the write lock from its
    // start, or a job's commit meanwhile makes it fail at once with "database is locked".
  }).immediate();
}

function traineeLineById(sqlite: Database, enrollmentId: number): Enrollment | null {
  const raw = sqlite.query(`${ENROLLMENT_SQL} WHERE e.id = ?`).get(enrollmentId);
  return raw ? toEnrollment(raw) : null;
}
