import type { Db } from "../db/client.ts";
import type { User } from "./auth.ts";
import type { Clock } from "./clock.ts";
import { checkDeclaration, type DeclarationInput, type DeclarationResult, type EnrollmentFacts } from "./declarations.ts";
import { referenceCodes } from "./imports.ts";
import type { Scope } from "./scope.ts";

export type TraineeLine = EnrollmentFacts & { codiceFiscale: string; surname: string; name: string };

const LINE_SQL = `
  SELECT e.id AS enrollmentId, c.homogeneous, c.category AS classCategory, p.end_date AS projectEndDate,
         CASE WHEN c.homogeneous = 1 THEN c.category ELSE e.fascia_debole END AS fasciaDebole,
         e.placed, e.hire_date AS hireDate, e.contract_type AS contractType, e.employer_vat AS employerVat,
         e.employer_name AS employerName, pa.codice_fiscale AS codiceFiscale, pa.surname, pa.name
  FROM enrollments e JOIN classes c ON c.id = e.class_id JOIN projects p ON p.id = e.project_id
  JOIN participants pa ON pa.id = e.participant_id`;

// The scope as a bound parameter: null lets the fund see every agency.
const scopeParams = (scope: Scope) => ({ agency: scope.agencyId === "all" ? null : scope.agencyId });

function toLine(raw: Record<string, unknown>): TraineeLine {
  return {
    ...(raw as unknown as TraineeLine),
    homogeneous: raw.homogeneous === 1,
    placed: raw.placed === null ? null : raw.placed === 1,
  };
}

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
    .query(`${LINE_SQL} WHERE e.class_id = $class AND ($agency IS NULL OR e.agency_id = $agency) ORDER BY pa.surname, pa.name, pa.codice_fiscale`)
    .all({ class: classId, ...scopeParams(scope) })
    .map((r) => toLine(r as Record<string, unknown>));
  return { ...cls, homogeneous: cls.homogeneous === 1, lines };
}

export type ClassRoster = NonNullable<ReturnType<typeof classRoster>>;

/** One trainee of a class in scope, or null. */
export function traineeLine(db: Db, scope: Scope, classId: number, enrollmentId: number): TraineeLine | null {
  const raw = db.$client
    .query(`${LINE_SQL} WHERE e.id = $enrollment AND e.class_id = $class AND ($agency IS NULL OR e.agency_id = $agency)`)
    .get({ enrollment: enrollmentId, class: classId, ...scopeParams(scope) });
  return raw ? toLine(raw as Record<string, unknown>) : null;
}

/**
 * Checks one trainee's declaration with the import's rules and saves it. The caller has
 * checked scope, permission and the campaign window.
 */
export function saveDeclaration(db: Db, clock: Clock, user: User, line: TraineeLine, input: DeclarationInput): DeclarationResult {
  const result = checkDeclaration(input, line, referenceCodes(db));
  if (!result.ok || result.unchanged) return result;
  const { fasciaDebole, placement } = result.change;
  const now = clock.now().getTime();
  db.$client.transaction(() => {
    if (fasciaDebole !== undefined) {
      db.$client
        .query("UPDATE enrollments SET fascia_debole = ?, updated_by_user_id = ?, updated_by_import_job_id = NULL, updated_at = ? WHERE id = ?")
        .run(fasciaDebole, user.id, now, line.enrollmentId);
    }
    if (placement) {
      db.$client
        .query(
          `UPDATE enrollments SET placed = ?, hire_date = ?, contract_type = ?, employer_vat = ?, employer_name = ?,
                  updated_by_user_id = ?, updated_by_import_job_id = NULL, updated_at = ? WHERE id = ?`,
        )
        .run(
          placement.placed === null ? null : placement.placed ? 1 : 0,
          placement.hireDate,
          placement.contractType,
          placement.employerVat,
          placement.employerName,
          user.id,
          now,
          line.enrollmentId,
        );
    }
  })();
  return result;
}
