import { and, asc, count, countDistinct, eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { agencies, classes, enrollments, projects, trainingTypes } from "../db/schema.ts";
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

/** Every agency, for the fund's filters. */
export function listAgencies(db: Db) {
  return db.select({ id: agencies.id, code: agencies.code, name: agencies.name }).from(agencies).orderBy(asc(agencies.code)).all();
}
