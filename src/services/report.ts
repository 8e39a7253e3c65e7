import type { Db } from "../db/client.ts";
import { formatDate } from "../format.ts";
import type { ReportAgency, ReportBook, ReportProject } from "../sheets/report-file.ts";
import type { User } from "./auth.ts";
import { campaignState, getCampaign } from "./campaigns.ts";
import type { Clock } from "./clock.ts";
import { fundFigures } from "./dashboard.ts";
import { queueExport } from "./exports.ts";
import { belowMinimum, COUNTS_AS_PLACED, minimumsOf } from "./minimums.ts";
import { activeCodes } from "./reference-lists.ts";

/*
 * The closing report of a campaign (SPEC §13): after the deadline, one workbook for the fund
 * with a row per agency and a sheet per training type, written by the export queue.
 */

/** Queues the closing report of a campaign whose deadline has passed, or says why not. */
export function bookReport(db: Db, clock: Clock, user: User, year: number): { ok: true; id: number } | { ok: false; error: string } {
  if (user.role !== "fund_operator") return { ok: false, error: "La relazione di chiusura è riservata al Fondo." };
  const campaign = getCampaign(db, year);
  if (!campaign) return { ok: false, error: `Non esiste una campagna per l'anno ${year}: scegli un anno dell'elenco.` };
  if (campaignState(campaign, clock.now()) !== "closed") {
    return {
      ok: false,
      error: `La relazione di chiusura della campagna ${year} si prepara dopo la scadenza del ${formatDate(campaign.deadline)}: torna il giorno dopo.`,
    };
  }
  const trainingTypes = activeCodes(db, "trainingTypes").map((t) => t.code);
  return { ok: true, id: queueExport(db, clock, { agencyId: null, agencyIds: null, userId: user.id, kind: "report" }, { year, trainingTypes, extraEmail: null, format: "xlsx" }) };
}

type ProjectFigures = { agencyId: number; code: string; title: string; trainingType: string; n: number; mixed: number; declaredMixed: number; placed: number };

/** The report's figures: every agency of the fund's table, every project with its placements by the one rule. */
export function closingReport(db: Db, year: number): ReportBook {
  const minimums = minimumsOf(db, year);
  const projects = db.$client
    .query(
      `SELECT p.agency_id AS agencyId, p.code, p.title, p.training_type AS trainingType, count(e.id) AS n,
              coalesce(sum(e.homogeneous = 0), 0) AS mixed, coalesce(sum(e.homogeneous = 0 AND e.fascia_debole IS NOT NULL), 0) AS declaredMixed,
              coalesce(sum(${COUNTS_AS_PLACED}), 0) AS placed
       FROM projects p LEFT JOIN enrollments e ON e.project_id = p.id
       WHERE p.year = ? GROUP BY p.id ORDER BY p.code`,
    )
    .all(year) as ProjectFigures[];
  const agencyRows = fundFigures(db, year);
  const byAgency = new Map(agencyRows.map((a) => [a.id, a]));
  const used = new Set(projects.map((p) => p.trainingType));
  const types = activeCodes(db, "trainingTypes").filter((t) => used.has(t.code) || minimums.has(t.code));
  const agencies: ReportAgency[] = agencyRows.map((a) => ({
    code: a.code,
    name: a.name,
    enrollments: a.enrollments,
    mixed: 0,
    declaredMixed: 0,
    byType: new Map(types.map((t) => [t.code, { enrollments: 0, placed: 0, projects: 0, below: 0 }])),
    projectsBelow: a.projectsBelow,
    lastUpload: a.lastUpload === null ? null : new Date(a.lastUpload),
    failedJobs: a.failedJobs,
    extendedTo: a.extendedTo,
  }));
  const reportOf = new Map(agencyRows.map((a, i) => [a.id, agencies[i]!]));
  const rows: ReportProject[] = [];
  for (const p of projects) {
    const agency = byAgency.get(p.agencyId);
    const report = reportOf.get(p.agencyId);
    if (!agency || !report) continue;
    const minimum = minimums.get(p.trainingType) ?? null;
    const below = belowMinimum(p.placed, p.n, minimum);
    report.mixed += p.mixed;
    report.declaredMixed += p.declaredMixed;
    const type = report.byType.get(p.trainingType);
    if (type) {
      type.enrollments += p.n;
      type.placed += p.placed;
      type.projects++;
      if (below) type.below++;
    }
    rows.push({ agencyCode: agency.code, agencyName: agency.name, code: p.code, title: p.title, trainingType: p.trainingType, enrollments: p.n, placed: p.placed, minimum, below });
  }
  return { year, types: types.map((t) => ({ ...t, minimum: minimums.get(t.code) ?? null })), agencies, projects: rows };
}
