import type { Db } from "../db/client.ts";
import { NOT_VULNERABLE } from "./declarations.ts";
import { belowMinimum, minimumsOf } from "./minimums.ts";

/*
 * The figures of the dashboards, from the enrollments' counts that triggers keep
 * (`enrollment_counts`, one row per project, class kind and declaration; `trainee_counts`):
 * never by loading or scanning enrollments, except for a training type's trainees. The few
 * rows are summed here in every direction.
 */

export type ProjectProgress = {
  id: number;
  code: string;
  title: string;
  trainingType: string;
  enrollments: number;
  mixed: number;
  declaredMixed: number;
  placed: number;
  /** The training type's minimum placement percent in the year, if it has one. */
  minimum: number | null;
  belowMinimum: boolean;
};

export type AgencyFigures = {
  trainees: number;
  enrollments: number;
  homogeneousEnrollments: number;
  mixedEnrollments: number;
  homogeneousClasses: number;
  mixedClasses: number;
  /** Mixed-class enrollments by declared category code. */
  declaredByCategory: Map<string, number>;
  declaredNo: number;
  undeclared: number;
  placed: number;
  byTrainingType: { trainingType: string; enrollments: number; placed: number; minimum: number | null }[];
  projects: ProjectProgress[];
  projectsBelow: number;
};

type Group = { project_id: number; homogeneous: number; fascia: string | null; placed: number; n: number };

export function agencyFigures(db: Db, agencyId: number, year: number, trainingType: string | null): AgencyFigures {
  const sqlite = db.$client;
  const typeFilter = trainingType ? "AND p.training_type = $type" : "";
  const params = { agency: agencyId, year, ...(trainingType ? { type: trainingType } : {}) };
  const projects = sqlite
    .query(
      `SELECT p.id, p.code, p.title, p.training_type AS trainingType FROM projects p
       WHERE p.agency_id = $agency AND p.year = $year ${typeFilter} ORDER BY p.code`,
    )
    .all(params) as { id: number; code: string; title: string; trainingType: string }[];
  const groups = sqlite
    .query(
      `SELECT project_id, homogeneous, nullif(fascia, '') AS fascia, enrollments AS n, placed FROM enrollment_counts
       WHERE agency_id = $agency AND year = $year AND enrollments > 0
         ${trainingType ? "AND project_id IN (SELECT p.id FROM projects p WHERE p.agency_id = $agency AND p.year = $year AND p.training_type = $type)" : ""}`,
    )
    .all(params) as Group[];
  // Trainees do not add up across projects: the agency's whole year is kept counted, a
  // training type's are counted here.
  const { trainees } = (
    trainingType
      ? sqlite.query(
          `SELECT count(DISTINCT e.participant_id) AS trainees FROM enrollments e
           WHERE e.agency_id = $agency AND e.year = $year
             AND e.project_id IN (SELECT p.id FROM projects p WHERE p.agency_id = $agency AND p.year = $year AND p.training_type = $type)`,
        )
      : sqlite.query("SELECT coalesce(max(trainees), 0) AS trainees FROM trainee_counts WHERE agency_id = $agency AND year = $year")
  ).get(params) as { trainees: number };
  const classes = sqlite
    .query(
      `SELECT c.homogeneous, count(*) AS n FROM classes c JOIN projects p ON p.id = c.project_id
       WHERE p.agency_id = $agency AND p.year = $year ${typeFilter} GROUP BY c.homogeneous`,
    )
    .all(params) as { homogeneous: number; n: number }[];

  const minimums = minimumsOf(db, year);
  const byProject = new Map<number, ProjectProgress>(
    projects.map((p) => [
      p.id,
      { ...p, enrollments: 0, mixed: 0, declaredMixed: 0, placed: 0, minimum: minimums.get(p.trainingType) ?? null, belowMinimum: false },
    ]),
  );
  const figures: AgencyFigures = {
    trainees,
    enrollments: 0,
    homogeneousEnrollments: 0,
    mixedEnrollments: 0,
    homogeneousClasses: classes.find((c) => c.homogeneous === 1)?.n ?? 0,
    mixedClasses: classes.find((c) => c.homogeneous === 0)?.n ?? 0,
    declaredByCategory: new Map(),
    declaredNo: 0,
    undeclared: 0,
    placed: 0,
    byTrainingType: [],
    projects: [],
    projectsBelow: 0,
  };
  for (const g of groups) {
    const project = byProject.get(g.project_id);
    if (!project) continue;
    project.enrollments += g.n;
    figures.enrollments += g.n;
    project.placed += g.placed;
    figures.placed += g.placed;
    if (g.homogeneous === 1) {
      figures.homogeneousEnrollments += g.n;
      continue;
    }
    project.mixed += g.n;
    figures.mixedEnrollments += g.n;
    if (g.fascia === null) figures.undeclared += g.n;
    else {
      project.declaredMixed += g.n;
      if (g.fascia === NOT_VULNERABLE) figures.declaredNo += g.n;
      else figures.declaredByCategory.set(g.fascia, (figures.declaredByCategory.get(g.fascia) ?? 0) + g.n);
    }
  }
  figures.projects = [...byProject.values()];
  for (const p of figures.projects) p.belowMinimum = belowMinimum(p.placed, p.enrollments, p.minimum);
  figures.projectsBelow = figures.projects.filter((p) => p.belowMinimum).length;
  const types = new Map<string, AgencyFigures["byTrainingType"][number]>();
  for (const p of figures.projects) {
    const entry = types.get(p.trainingType) ?? { trainingType: p.trainingType, enrollments: 0, placed: 0, minimum: p.minimum };
    entry.enrollments += p.enrollments;
    entry.placed += p.placed;
    types.set(p.trainingType, entry);
  }
  figures.byTrainingType = [...types.values()].sort((a, b) => a.trainingType.localeCompare(b.trainingType));
  return figures;
}

const COUNTED = [
  {
    table: "enrollment_counts",
    key: "year, agency_id, project_id, homogeneous, fascia",
    columns: "year, agency_id, project_id, homogeneous, fascia, enrollments, placed",
    counts: "enrollments <> 0 OR placed <> 0",
    fresh: (where: string) => `SELECT year, agency_id, project_id, homogeneous, coalesce(fascia_debole, '') AS fascia, count(*) AS enrollments,
              sum(counts_as_placed) AS placed
            FROM enrollments ${where} GROUP BY 1, 2, 3, 4, 5`,
  },
  {
    table: "trainee_counts",
    key: "year, agency_id",
    columns: "year, agency_id, trainees",
    counts: "trainees <> 0",
    fresh: (where: string) => `SELECT year, agency_id, count(DISTINCT participant_id) AS trainees FROM enrollments ${where} GROUP BY 1, 2`,
  },
];

/**
 * Counts the dashboards' figures again from the enrollments and puts right the kept counts
 * that differ (`placement recount`, for a database edited by hand); how many kept rows
 * were wrong, missing or left over. The comparison reads a snapshot and holds no writer
 * up (seconds for millions of enrollments); each agency's year that differs is then
 * counted again from the enrollments in a short transaction of its own.
 */
export function recountFigures(db: Db): number {
  const sqlite = db.$client;
  let wrong = 0;
  for (const { table, key, columns, counts, fresh } of COUNTED) {
    // Each side counted once (MATERIALIZED), then compared both ways. A kept row of zeros
    // is no row; one that counts anything, even below zero, must be a counted one.
    const differing = sqlite
      .query(
        `WITH kept AS MATERIALIZED (SELECT ${columns} FROM ${table} WHERE ${counts}), counted AS MATERIALIZED (${fresh("")})
         SELECT year, agency_id AS agencyId FROM (
           SELECT ${key} FROM (SELECT * FROM kept EXCEPT SELECT * FROM counted)
           UNION SELECT ${key} FROM (SELECT * FROM counted EXCEPT SELECT * FROM kept))`,
      )
      .all() as { year: number; agencyId: number }[];
    wrong += differing.length;
    const scopes = new Map(differing.map((d) => [`${d.year} ${d.agencyId}`, d]));
    for (const { year, agencyId } of scopes.values()) {
      sqlite
        .transaction(() => {
          sqlite.run(`DELETE FROM ${table} WHERE year = ? AND agency_id = ?`, [year, agencyId]);
          sqlite.run(`INSERT INTO ${table} (${columns}) ${fresh("WHERE year = ?1 AND agency_id = ?2")}`, [year, agencyId]);
        })
        .immediate();
    }
  }
  return wrong;
}

export type AgencyRow = {
  id: number;
  code: string;
  name: string;
  enrollments: number;
  declared: number;
  placed: number;
  /** Projects whose training type has a minimum placement rate that they do not reach. */
  projectsBelow: number;
  lastUpload: number | null;
  failedJobs: number;
  /** The agency's own deadline, when the fund granted a proroga. */
  extendedTo: string | null;
};

type ProjectTotals = { agencyId: number; projectId: number; n: number; declared: number; placed: number };

/**
 * One row per agency for the fund. "Declared" counts enrollments with a fascia debole on
 * record; enrollments of homogeneous classes carry their class's category, so they count.
 * One pass over the year's counts, by project, gives every count.
 */
export function fundFigures(db: Db, year: number): AgencyRow[] {
  const sqlite = db.$client;
  const minimums = minimumsOf(db, year);
  // Grouped in the key's order (year, agency, project): no sort.
  const totals = sqlite
    .query(
      `SELECT agency_id AS agencyId, project_id AS projectId, sum(enrollments) AS n,
              sum(CASE WHEN fascia <> '' THEN enrollments ELSE 0 END) AS declared, sum(placed) AS placed
       FROM enrollment_counts WHERE year = $year GROUP BY agency_id, project_id HAVING n > 0`,
    )
    .all({ year }) as ProjectTotals[];
  const typeOf = new Map(
    (sqlite.query("SELECT id, training_type AS trainingType FROM projects WHERE year = ?").all(year) as { id: number; trainingType: string }[]).map((p) => [
      p.id,
      p.trainingType,
    ]),
  );
  const rows = sqlite
    .query(
      `SELECT a.id, a.code, a.name, 0 AS enrollments, 0 AS declared, 0 AS placed, 0 AS projectsBelow,
              (SELECT max(i.created_at) FROM import_jobs i WHERE i.agency_id = a.id AND i.year = $year) AS lastUpload,
              (SELECT count(*) FROM import_jobs i WHERE i.agency_id = a.id AND i.year = $year AND i.status = 'failed')
                + (SELECT count(*) FROM export_jobs x WHERE x.agency_id = a.id AND x.year = $year AND x.status = 'failed') AS failedJobs,
              (SELECT x.deadline FROM campaign_extensions x WHERE x.agency_id = a.id AND x.year = $year) AS extendedTo
       FROM agencies a ORDER BY a.name`,
    )
    .all({ year }) as AgencyRow[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const project of totals) {
    const row = byId.get(project.agencyId);
    if (!row) continue;
    row.enrollments += project.n;
    row.declared += project.declared;
    row.placed += project.placed;
    if (belowMinimum(project.placed, project.n, minimums.get(typeOf.get(project.projectId) ?? ""))) row.projectsBelow++;
  }
  return rows;
}

/** A column to sort a table by, and which way. */
export type Sort<Column extends string> = { column: Column; descending: boolean };

function sortRows<Row, Column extends string>(
  rows: readonly Row[],
  values: Record<Column, (row: Row) => number | string>,
  name: (row: Row) => string,
  sort: Sort<Column>,
): Row[] {
  const value = values[sort.column];
  return [...rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    const order = x < y ? -1 : x > y ? 1 : name(a).localeCompare(name(b));
    return sort.descending ? -order : order;
  });
}

const PROJECT_SORTS = {
  codice: (p: ProjectProgress) => p.code,
  iscrizioni: (p: ProjectProgress) => p.enrollments,
  dichiarate: (p: ProjectProgress) => (p.mixed ? p.declaredMixed / p.mixed : 1),
  placement: (p: ProjectProgress) => (p.enrollments ? p.placed / p.enrollments : 0),
};
export type ProjectSort = Sort<keyof typeof PROJECT_SORTS>;

const AGENCY_SORTS = {
  agenzia: (a: AgencyRow) => a.name,
  iscrizioni: (a: AgencyRow) => a.enrollments,
  dichiarate: (a: AgencyRow) => (a.enrollments ? a.declared / a.enrollments : 0),
  placement: (a: AgencyRow) => (a.enrollments ? a.placed / a.enrollments : 0),
  sotto: (a: AgencyRow) => a.projectsBelow,
  caricamento: (a: AgencyRow) => a.lastUpload ?? 0,
  errori: (a: AgencyRow) => a.failedJobs,
};
export type AgencySort = Sort<keyof typeof AGENCY_SORTS>;

/** The sort a page's query asks for (`ordina`, `verso`), or the first column ascending. */
function sortAsked<Column extends string>(columns: Record<Column, unknown>, column: string | undefined, way: string | undefined): Sort<Column> {
  const known = Object.keys(columns) as Column[];
  return { column: known.includes(column as Column) ? (column as Column) : known[0]!, descending: way === "desc" };
}

export const projectSortAsked = (column: string | undefined, way: string | undefined): ProjectSort => sortAsked(PROJECT_SORTS, column, way);
export const agencySortAsked = (column: string | undefined, way: string | undefined): AgencySort => sortAsked(AGENCY_SORTS, column, way);
export const sortProjects = (projects: readonly ProjectProgress[], sort: ProjectSort) => sortRows(projects, PROJECT_SORTS, (p) => p.code, sort);
export const sortAgencies = (agencies: readonly AgencyRow[], sort: AgencySort) => sortRows(agencies, AGENCY_SORTS, (a) => a.name, sort);
