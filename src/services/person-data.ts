import type { Db } from "../db/client.ts";
import type { PersonData } from "../sheets/person-file.ts";

/*
 * Everything held on one person, for answering a request under GDPR art. 15: found by the
 * codice fiscale, read straight from the tables that hold it.
 */

export type Person = { id: number; codiceFiscale: string; surname: string; name: string; birthDate: string | null };

/** The person with this codice fiscale, if any is held. */
export function findPerson(db: Db, codiceFiscale: string): Person | null {
  return (
    (db.$client
      .query("SELECT id, codice_fiscale AS codiceFiscale, surname, name, birth_date AS birthDate FROM participants WHERE codice_fiscale = ?")
      .get(codiceFiscale) as Person | null) ?? null
  );
}

/** The person's enrollments with their declarations, the changes to them, and the jobs and files that touched them. */
export function personData(db: Db, person: Person): PersonData {
  const sqlite = db.$client;
  const enrollments = sqlite
    .query(
      `SELECT e.id, e.year, ag.code AS agencyCode, ag.name AS agencyName, p.code AS projectCode, p.title AS projectTitle,
              p.training_type AS trainingType, p.start_date AS startDate, p.end_date AS endDate, c.code AS classCode,
              c.homogeneous, e.fascia_debole AS fasciaDebole, e.placed, e.hire_date AS hireDate, e.contract_type AS contractType,
              e.employer_vat AS employerVat, e.employer_name AS employerName, e.updated_at AS updatedAt
       FROM enrollments e JOIN projects p ON p.id = e.project_id JOIN classes c ON c.id = e.class_id JOIN agencies ag ON ag.id = e.agency_id
       WHERE e.participant_id = ? ORDER BY e.year, ag.code, p.code, c.code`,
    )
    .all(person.id) as PersonData["enrollments"];
  const ids = enrollments.map((e) => e.id);
  const inList = ids.length ? ids.join(",") : "NULL";
  const changes = sqlite
    .query(
      `SELECT ch.enrollment_id AS enrollmentId, ch.at, ch.field, ch.old_value AS oldValue, ch.new_value AS newValue, ch.source,
              ch.import_job_id AS uploadId, ch.master_data_job_id AS masterDataJobId, u.email AS userEmail
       FROM enrollment_changes ch LEFT JOIN users u ON u.id = ch.user_id
       WHERE ch.enrollment_id IN (${inList}) ORDER BY ch.at, ch.id`,
    )
    .all() as PersonData["changes"];
  const uploads = sqlite
    .query(
      `SELECT j.id, j.created_at AS at, ag.code AS agencyCode, j.year, j.file_name AS fileName, u.email AS userEmail,
              o.row_number AS rowNumber, o.enrollment_id AS enrollmentId, o.outcome, o.message
       FROM import_row_outcomes o JOIN import_jobs j ON j.id = o.import_job_id JOIN agencies ag ON ag.id = j.agency_id
       LEFT JOIN users u ON u.id = j.user_id
       WHERE o.enrollment_id IN (${inList}) ORDER BY j.id, o.row_number`,
    )
    .all() as PersonData["uploads"];
  // A download held the person's rows when it was of their agency (or of all, for the
  // fund's file), their year and their project's training type, and it was written.
  const exports = sqlite
    .query(
      `SELECT DISTINCT x.id, x.kind, x.created_at AS at, x.year, x.format, coalesce(ag.code, 'Fondo') AS agencyCode, u.email AS bookedBy,
              x.row_count AS rowCount
       FROM export_jobs x JOIN enrollments e ON e.year = x.year JOIN projects p ON p.id = e.project_id
       LEFT JOIN agencies ag ON ag.id = x.agency_id LEFT JOIN users u ON u.id = x.user_id
       WHERE e.participant_id = ? AND x.kind != 'report' AND x.status IN ('ready', 'expired')
         AND (x.agency_id = e.agency_id
              OR (x.agency_id IS NULL AND (json_array_length(x.agency_ids) = 0 OR e.agency_id IN (SELECT value FROM json_each(x.agency_ids)))))
         AND p.training_type IN (SELECT value FROM json_each(x.training_types))
       ORDER BY x.id`,
    )
    .all(person.id) as PersonData["exports"];
  const downloads = sqlite
    .query(
      `SELECT json_extract(l.detail, '$.booking') AS exportId, l.at, u.email AS userEmail, l.address
       FROM audit_log l LEFT JOIN users u ON u.id = l.user_id
       WHERE l.action = 'export_download' AND json_extract(l.detail, '$.booking') IN (SELECT value FROM json_each(?)) ORDER BY l.id`,
    )
    .all(JSON.stringify(exports.map((x) => x.id))) as PersonData["downloads"];
  return { person, enrollments, changes, uploads, exports, downloads };
}
