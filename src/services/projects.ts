import { and, asc, count, countDistinct, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, classes, enrollments, participants, projects, trainingTypes } from "../db/schema.ts";
import { inScope, type Scope } from "./scope.ts";

export type Agency = typeof agencies.$inferSelect;

export function getAgency(db: Db, scope: Scope, agencyId: number): Agency | undefined {
  return db
    .select()
    .from(agencies)
    .where(and(eq(agencies.id, agencyId), inScope(scope, agencies.id)))
    .get();
}

export function listProjects(db: Db, scope: Scope, year: number) {
  return db
    .select({
      id: projects.id,
      code: projects.code,
      title: projects.title,
      trainingType: projects.trainingType,
      trainingTypeDescription: trainingTypes.description,
      startDate: projects.startDate,
      endDate: projects.endDate,
      classCount: countDistinct(classes.id),
      enrollmentCount: count(enrollments.id),
    })
    .from(projects)
    .innerJoin(trainingTypes, eq(trainingTypes.code, projects.trainingType))
    .leftJoin(classes, eq(classes.projectId, projects.id))
    .leftJoin(enrollments, eq(enrollments.classId, classes.id))
    .where(and(eq(projects.year, year), inScope(scope, projects.agencyId)))
    .groupBy(projects.id)
    .orderBy(asc(projects.code))
    .all();
}

export function getProject(db: Db, scope: Scope, projectId: number) {
  return db
    .select({
      id: projects.id,
      code: projects.code,
      title: projects.title,
      year: projects.year,
      trainingType: projects.trainingType,
      trainingTypeDescription: trainingTypes.description,
      startDate: projects.startDate,
      endDate: projects.endDate,
      agencyId: agencies.id,
      agencyName: agencies.name,
    })
    .from(projects)
    .innerJoin(agencies, eq(agencies.id, projects.agencyId))
    .innerJoin(trainingTypes, eq(trainingTypes.code, projects.trainingType))
    .where(and(eq(projects.id, projectId), inScope(scope, projects.agencyId)))
    .get();
}

/** The classes of a project with their trainees; the project must be in scope. */
export function projectRoster(db: Db, scope: Scope, projectId: number) {
  const rows = db
    .select({
      classId: classes.id,
      classCode: classes.code,
      homogeneous: classes.homogeneous,
      category: classes.category,
      enrollmentId: enrollments.id,
      codiceFiscale: participants.codiceFiscale,
      surname: participants.surname,
      name: participants.name,
      fasciaDebole: enrollments.fasciaDebole,
      placed: enrollments.placed,
    })
    .from(classes)
    .innerJoin(projects, eq(projects.id, classes.projectId))
    .leftJoin(enrollments, eq(enrollments.classId, classes.id))
    .leftJoin(participants, eq(participants.id, enrollments.participantId))
    .where(and(eq(classes.projectId, projectId), inScope(scope, projects.agencyId)))
    .orderBy(asc(classes.code), asc(participants.surname), asc(participants.name))
    .all();

  type Trainee = { enrollmentId: number; codiceFiscale: string; surname: string; name: string; fasciaDebole: string | null; placed: boolean | null };
  const byClass = new Map<number, { id: number; code: string; homogeneous: boolean; category: string | null; trainees: Trainee[] }>();
  for (const r of rows) {
    let entry = byClass.get(r.classId);
    if (!entry) {
      entry = { id: r.classId, code: r.classCode, homogeneous: r.homogeneous, category: r.category, trainees: [] };
      byClass.set(r.classId, entry);
    }
    if (r.enrollmentId !== null) {
      entry.trainees.push({
        enrollmentId: r.enrollmentId,
        codiceFiscale: r.codiceFiscale!,
        surname: r.surname!,
        name: r.name!,
        fasciaDebole: r.fasciaDebole,
        placed: r.placed,
      });
    }
  }
  return [...byClass.values()];
}

/** Every agency, for the fund's filters. */
export function listAgencies(db: Db) {
  return db.select({ id: agencies.id, code: agencies.code, name: agencies.name }).from(agencies).orderBy(asc(agencies.code)).all();
}
