import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { localDate } from "../format.ts";
import { recordAudit } from "./audit.ts";
import { type Campaign, getCampaign, listCampaigns } from "./campaigns.ts";
import type { Clock } from "./clock.ts";
import { dataFile, removeQuietly } from "./data-files.ts";

/*
 * How long a campaign's personal data is kept (SPEC §14): a number of years after its last
 * deadline, proroghe included. Then the campaign is anonymised: its enrollments are detached
 * from the people, and what else ties its declarations to a person is removed. The counts
 * stay, so that its dashboards, summary and closing report still answer.
 */

/** The campaign's last deadline: its own, or the latest proroga of an agency. */
function lastDeadline(db: Db, campaign: Campaign): string {
  const row = db.$client.query("SELECT max(deadline) AS latest FROM campaign_extensions WHERE year = ?").get(campaign.year) as { latest: string | null };
  return row.latest && row.latest > campaign.deadline ? row.latest : campaign.deadline;
}

export const retentionYearsOf = (campaign: Campaign, config: Pick<Config, "RETENTION_YEARS">) => campaign.retentionYears ?? config.RETENTION_YEARS;

/** The last day the campaign's personal data is kept (YYYY-MM-DD); anonymised the day after. */
export function keptUntil(db: Db, campaign: Campaign, config: Pick<Config, "RETENTION_YEARS">): string {
  const [y, m, d] = lastDeadline(db, campaign).split("-").map(Number) as [number, number, number];
  const years = retentionYearsOf(campaign, config);
  // 29 February kept for four years is kept until 28 February.
  const day = Math.min(d, new Date(Date.UTC(y + years, m, 0)).getUTCDate());
  return `${String(y + years).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** Campaigns whose retention has run out and that are not anonymised yet. */
export function campaignsPastRetention(db: Db, clock: Clock, config: Pick<Config, "RETENTION_YEARS">): Campaign[] {
  return listCampaigns(db).filter((c) => c.anonymisedAt === null && localDate(clock.now(), c.timezone) > keptUntil(db, c, config));
}

/** How many enrollments and people the campaign holds: what its anonymisation would detach. */
export function campaignPeople(db: Db, year: number): { enrollments: number; people: number } {
  return db.$client.query("SELECT count(*) AS enrollments, count(DISTINCT participant_id) AS people FROM enrollments WHERE year = ?").get(year) as {
    enrollments: number;
    people: number;
  };
}

/** Why the fund may not anonymise the campaign now, as a sentence; null when it may. */
export function anonymiseRefusal(db: Db, clock: Clock, year: number): string | null {
  const campaign = getCampaign(db, year);
  if (!campaign) return `Non esiste una campagna per l'anno ${year}.`;
  if (campaign.anonymisedAt) return `I dati personali della campagna ${year} sono già stati anonimizzati.`;
  if (localDate(clock.now(), campaign.timezone) <= lastDeadline(db, campaign)) {
    return `La campagna ${year} è ancora aperta per almeno un'agenzia: si può anonimizzare solo dopo l'ultima scadenza.`;
  }
  return null;
}

export type Anonymised = { enrollments: number; people: number; peopleRemoved: number; changes: number; rowOutcomes: number; files: number; auditEntries: number; mails: number[] };

/**
 * Anonymises a campaign in one transaction. Each person of the campaign gets, for it alone,
 * a stand-in with no name and no codice fiscale, so that the count of trainees stays; a person
 * enrolled in no other campaign is removed, one enrolled in another keeps their record,
 * linked no more to this one. Employers go, as do the change history, the uploads' row
 * outcomes, the files, the audit entries and the stored mails of the campaign. Returns what
 * was done; `mails` are the removed messages' ids, whose files the caller removes.
 */
export function anonymiseCampaign(db: Db, clock: Clock, config: Pick<Config, "DATA_DIR">, year: number, by: { userId: number | null; address?: string }): Anonymised {
  const sqlite = db.$client;
  const files: string[] = [];
  const done = sqlite.transaction((): Anonymised => {
    const enrollments = (sqlite.query("SELECT count(*) AS n FROM enrollments WHERE year = ?").get(year) as { n: number }).n;
    sqlite.run("DROP TABLE IF EXISTS temp.stand_ins");
    // The random code of each stand-in is drawn once per person (the inner DISTINCT).
    sqlite.run(
      `CREATE TEMP TABLE stand_ins AS SELECT person, 'ANON-' || lower(hex(randomblob(10))) AS code
       FROM (SELECT DISTINCT participant_id AS person FROM enrollments WHERE year = ?)`,
      [year],
    );
    sqlite.run("CREATE UNIQUE INDEX temp.stand_ins_person ON stand_ins (person)");
    sqlite.run("INSERT INTO participants (codice_fiscale, surname, name, birth_date) SELECT code, '', '', NULL FROM temp.stand_ins");
    sqlite.run("ALTER TABLE temp.stand_ins ADD stand_in INTEGER");
    sqlite.run("UPDATE temp.stand_ins SET stand_in = (SELECT p.id FROM participants p WHERE p.codice_fiscale = stand_ins.code)");
    sqlite.run(
      `UPDATE enrollments SET employer_vat = NULL, employer_name = NULL,
         participant_id = (SELECT s.stand_in FROM temp.stand_ins s WHERE s.person = enrollments.participant_id)
       WHERE year = ?`,
      [year],
    );
    const people = (sqlite.query("SELECT count(*) AS n FROM temp.stand_ins").get() as { n: number }).n;
    const peopleRemoved = sqlite.run(
      "DELETE FROM participants WHERE id IN (SELECT person FROM temp.stand_ins) AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.participant_id = participants.id)",
    ).changes;
    sqlite.run("DROP TABLE temp.stand_ins");
    const changes = sqlite.run("DELETE FROM enrollment_changes WHERE enrollment_id IN (SELECT id FROM enrollments WHERE year = ?)", [year]).changes;
    const rowOutcomes = sqlite.run(
      `DELETE FROM import_row_outcomes WHERE import_job_id IN (SELECT id FROM import_jobs WHERE year = ?)
         OR enrollment_id IN (SELECT id FROM enrollments WHERE year = ?)`,
      [year, year],
    ).changes;
    for (const row of sqlite.query("SELECT file_path AS a, outcome_path AS b FROM import_jobs WHERE year = ?").all(year) as { a: string | null; b: string | null }[]) {
      for (const path of [row.a, row.b]) if (path) files.push(path);
    }
    for (const row of sqlite.query("SELECT file_path AS a FROM export_jobs WHERE year = ? AND file_path IS NOT NULL").all(year) as { a: string }[]) files.push(row.a);
    sqlite.run("UPDATE import_jobs SET file_path = '', outcome_path = NULL WHERE year = ?", [year]);
    sqlite.run("UPDATE export_jobs SET file_path = NULL, status = CASE WHEN status = 'ready' THEN 'expired' ELSE status END WHERE year = ?", [year]);
    // What the audit log holds of the campaign: entries that name its year, its bookings, its
    // uploads, its outcome files or its enrollments.
    const auditEntries = sqlite.query(
      `DELETE FROM audit_log WHERE json_valid(detail) AND (
           json_extract(detail, '$.year') = $year
        OR (action = 'export_download' AND json_extract(detail, '$.booking') IN (SELECT id FROM export_jobs WHERE year = $year))
        OR (action IN ('upload', 'upload_refused') AND json_extract(detail, '$.upload') IN (SELECT id FROM import_jobs WHERE year = $year)))
       OR (action = 'outcome_download' AND target GLOB 'esito_*_' || $year || '_*')
       OR (action = 'enrollment_edit' AND target IN (SELECT 'enrollment:' || id FROM enrollments WHERE year = $year))`,
    ).run({ year }).changes;
    const mails = (sqlite.query("SELECT id FROM mail_outbox WHERE year = ? AND status IN ('sent', 'failed')").all(year) as { id: number }[]).map((m) => m.id);
    sqlite.run("DELETE FROM mail_outbox WHERE year = ? AND status IN ('sent', 'failed')", [year]);
    sqlite.run("UPDATE campaigns SET anonymised_at = ? WHERE year = ?", [clock.now().getTime(), year]);
    const result = { enrollments, people, peopleRemoved, changes, rowOutcomes, files: files.length, auditEntries, mails };
    recordAudit(db, clock, {
      action: "campaign_anonymise",
      userId: by.userId,
      target: `campaign:${year}`,
      detail: { anonymisedYear: year, ...result, mails: mails.length, by: by.userId === null ? "maintenance" : "fund" },
      address: by.address,
    });
    return result;
  }).immediate();
  // Files go once the rows no longer name them: a crash in between leaves orphans, which the start sweeps.
  for (const path of files) removeQuietly(dataFile(config, path));
  return done;
}
