import { and, desc, eq, sql } from "drizzle-orm";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import type { SelectedFieldsFlat } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client.ts";
import { agencies, exportJobs, uploadJobs, users } from "../db/schema.ts";
import { inScope, type Scope } from "./scope.ts";

/** Some columns of a table, by name. */
export const columnsOf = <Table extends object, Name extends keyof Table>(table: Table, ...names: Name[]) =>
  Object.fromEntries(names.map((name) => [name, table[name]])) as Pick<Table, Name>;

/** What every listed job shows, whichever its queue. */
export const jobColumns = <Table extends typeof exportJobs | typeof uploadJobs>(table: Table) => ({
  id: table.id,
  agencyId: table.agencyId,
  // None for the fund's own files.
  agencyCode: sql<string | null>`${agencies.code}`,
  year: table.year,
  status: table.status as Table["status"],
  progressDone: table.progressDone,
  progressTotal: table.progressTotal,
  attempts: table.attempts,
  error: table.error,
  createdAt: table.createdAt,
  finishedAt: table.finishedAt,
});

/**
 * A queue's jobs in scope, newest first, beside the agency and the person who asked; only
 * the job `id` when one is given.
 */
export function listJobs<Columns extends SelectedFieldsFlat>(
  db: Db,
  scope: Scope,
  table: typeof exportJobs | typeof uploadJobs,
  columns: Columns,
  only: { limit: number; id?: number },
): SelectResultFields<Columns>[] {
  // Both job tables have the columns used here; drizzle cannot type a join over a union of tables.
  const jobs = table as typeof exportJobs;
  return db
    .select(columns as SelectedFieldsFlat)
    .from(jobs)
    .innerJoin(users, eq(users.id, jobs.userId))
    // A left join: the fund's own files belong to no agency.
    .leftJoin(agencies, eq(agencies.id, jobs.agencyId))
    .where(and(inScope(scope, jobs.agencyId), only.id === undefined ? undefined : eq(jobs.id, only.id)))
    .orderBy(desc(jobs.id))
    .limit(only.limit)
    .all() as SelectResultFields<Columns>[];
}
