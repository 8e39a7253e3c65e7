import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// Instants are stored as epoch milliseconds; calendar dates as ISO text (YYYY-MM-DD),
// because a project's end date or a hire date has no time zone.
const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`);

// The campaign and the agency a row belongs to.
function campaignYear() {
  return integer("year")
    .notNull()
    .references(() => campaigns.year);
}
function agencyOf() {
  return integer("agency_id")
    .notNull()
    .references(() => agencies.id);
}

export const ROLES = ["rpa", "referent", "operator", "fund_operator"] as const;
export type Role = (typeof ROLES)[number];

export const agencies = sqliteTable("agencies", {
  id: integer("id").primaryKey(),
  code: text("code").notNull().unique(),
  name: text("name").notNull(),
  disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
  // Set by the fund: every user of the agency signs in with a second factor.
  twoFactorRequired: integer("two_factor_required", { mode: "boolean" }).notNull().default(false),
  createdAt: createdAt(),
});

export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey(),
    agencyId: integer("agency_id").references(() => agencies.id),
    email: text("email").notNull().unique(),
    name: text("name").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    placementPermission: integer("placement_permission", { mode: "boolean" }).notNull().default(false),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    passwordHash: text("password_hash").notNull(),
    mustChangePassword: integer("must_change_password", { mode: "boolean" }).notNull().default(false),
    // The TOTP secret (base32) once confirmed with a code; null without a second factor.
    totpSecret: text("totp_secret"),
    // The time step of the last code accepted: a code is good once.
    totpLastStep: integer("totp_last_step"),
    createdAt: createdAt(),
  },
  (t) => [index("users_agency_idx").on(t.agencyId)],
);

/** Single-use codes for a lost authenticator, stored as SHA-256 (they are random, not chosen). */
export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    id: integer("id").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("recovery_codes_user_idx").on(t.userId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    // SHA-256 of the cookie value: a leaked database does not hand out live sessions.
    idHash: text("id_hash").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    csrfToken: text("csrf_token").notNull(),
    // Past the password, waiting for the second factor: it opens only the second step.
    pending: integer("pending", { mode: "boolean" }).notNull().default(false),
    // A TOTP secret shown for enrolment in this session, not yet confirmed: no other
    // session of the user can see or replace it.
    totpPendingSecret: text("totp_pending_secret"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const loginThrottle = sqliteTable("login_throttle", {
  // "account:<email>" or "address:<ip>"
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  lastFailureAt: integer("last_failure_at", { mode: "timestamp_ms" }).notNull(),
});

const referenceList = (name: string) =>
  sqliteTable(name, {
    code: text("code").primaryKey(),
    description: text("description").notNull(),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    sortOrder: integer("sort_order").notNull().default(0),
  });

export const trainingTypes = referenceList("training_types");
export const vulnerableCategories = referenceList("vulnerable_categories");
export const contractTypes = referenceList("contract_types");

export const campaigns = sqliteTable("campaigns", {
  year: integer("year").primaryKey(),
  opensOn: text("opens_on").notNull(),
  // Last day on which bookings and uploads are accepted, to its end, in `timezone`.
  deadline: text("deadline").notNull(),
  timezone: text("timezone").notNull().default("Europe/Rome"),
  // Days before each agency's deadline on which the incomplete ones are reminded (JSON array).
  reminderDays: text("reminder_days", { mode: "json" }).$type<number[]>().notNull().default(sql`'[14,7,2]'`),
  remindersOn: integer("reminders_on", { mode: "boolean" }).notNull().default(true),
  // When the fund's operators were sent the agencies still incomplete after the deadline.
  incompleteListSentAt: integer("incomplete_list_sent_at", { mode: "timestamp_ms" }),
  // Years after the deadline that personal data is kept; null for RETENTION_YEARS.
  retentionYears: integer("retention_years"),
  // When the campaign's enrollments were detached from the people.
  anonymisedAt: integer("anonymised_at", { mode: "timestamp_ms" }),
});

/**
 * Each deadline reminder decided for an agency, sent or not, so that it is decided once:
 * by campaign, agency, the deadline it counted from (a proroga makes a new one) and days before.
 */
export const reminders = sqliteTable(
  "reminders",
  {
    year: campaignYear(),
    agencyId: agencyOf(),
    deadline: text("deadline").notNull(),
    days: integer("days").notNull(),
    // sent; complete (nothing to remind); unreachable (data missing, but nobody of the agency
    // to tell: no enabled Responsabile or Referente with the permission); passed (a later
    // reminder was due when it was decided).
    outcome: text("outcome", { enum: ["sent", "complete", "unreachable", "passed"] }).notNull(),
    decidedAt: integer("decided_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.year, t.agencyId, t.deadline, t.days] })],
);

/** A later deadline for one agency (proroga): its window runs to this day's end instead. */
export const campaignExtensions = sqliteTable(
  "campaign_extensions",
  {
    id: integer("id").primaryKey(),
    year: campaignYear(),
    agencyId: agencyOf(),
    deadline: text("deadline").notNull(),
    reason: text("reason").notNull(),
    grantedByUserId: integer("granted_by_user_id").references(() => users.id),
    grantedAt: integer("granted_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("campaign_extensions_year_agency_idx").on(t.year, t.agencyId)],
);

/** The least share of a project's trainees placed that a training type requires in a campaign year. */
export const placementMinimums = sqliteTable(
  "placement_minimums",
  {
    year: campaignYear(),
    trainingType: text("training_type")
      .notNull()
      .references(() => trainingTypes.code),
    percent: integer("percent").notNull(),
  },
  (t) => [primaryKey({ columns: [t.year, t.trainingType] })],
);

export const projects = sqliteTable(
  "projects",
  {
    id: integer("id").primaryKey(),
    agencyId: agencyOf(),
    code: text("code").notNull(),
    title: text("title").notNull(),
    trainingType: text("training_type")
      .notNull()
      .references(() => trainingTypes.code),
    year: integer("year").notNull(),
    startDate: text("start_date").notNull(),
    endDate: text("end_date").notNull(),
  },
  (t) => [
    uniqueIndex("projects_agency_code_idx").on(t.agencyId, t.code),
    index("projects_agency_year_idx").on(t.agencyId, t.year),
  ],
);

export const classes = sqliteTable(
  "classes",
  {
    id: integer("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id),
    code: text("code").notNull(),
    homogeneous: integer("homogeneous", { mode: "boolean" }).notNull(),
    // Set only on homogeneous classes: every trainee of the class belongs to it.
    category: text("category").references(() => vulnerableCategories.code),
  },
  (t) => [uniqueIndex("classes_project_code_idx").on(t.projectId, t.code)],
);

export const participants = sqliteTable("participants", {
  id: integer("id").primaryKey(),
  codiceFiscale: text("codice_fiscale").notNull().unique(),
  surname: text("surname").notNull(),
  name: text("name").notNull(),
  birthDate: text("birth_date"),
});

/** The queue's bookkeeping, the same for every kind of job. */
const queueColumns = () => ({
  id: integer("id").primaryKey(),
  userId: integer("user_id")
    .notNull()
    .references(() => users.id),
  progressDone: integer("progress_done").notNull().default(0),
  progressTotal: integer("progress_total").notNull().default(0),
  attempts: integer("attempts").notNull().default(0),
  // Held by the runner while it works; a job whose lease ran out is picked up again.
  leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
  nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }),
  error: text("error"),
  createdAt: createdAt(),
  startedAt: integer("started_at", { mode: "timestamp_ms" }),
  finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
});

/** Jobs of an agency's campaign: who asked, for which campaign, and the bookkeeping. */
const queuedJobColumns = () => ({
  ...queueColumns(),
  agencyId: integer("agency_id")
    .notNull()
    .references(() => agencies.id),
  year: integer("year").notNull(),
});

/** An uploaded spreadsheet and what came of its rows. */
const uploadColumns = () => ({
  fileName: text("file_name").notNull(),
  filePath: text("file_path").notNull(),
  fileSha256: text("file_sha256").notNull(),
  fileFormat: text("file_format", { enum: ["xlsx", "xls", "ods", "csv"] }).notNull(),
  fileSize: integer("file_size").notNull(),
  status: text("status", { enum: ["queued", "running", "done", "done_with_errors", "failed"] })
    .notNull()
    .default("queued"),
  rowsTotal: integer("rows_total"),
  rowsOk: integer("rows_ok"),
  rowsKo: integer("rows_ko"),
  rowsUnchanged: integer("rows_unchanged"),
  outcomePath: text("outcome_path"),
  // The sheet that was read, when it is not the one the file was made with.
  sheetName: text("sheet_name"),
});

export const uploadJobs = sqliteTable(
  "import_jobs",
  {
    ...queuedJobColumns(),
    ...uploadColumns(),
    // The most frequent reasons of the KO rows, without the values written in them (the API's status).
    topReasons: text("top_reasons", { mode: "json" }).$type<{ reason: string; rows: number }[]>(),
  },
  (t) => [
    index("import_jobs_agency_idx").on(t.agencyId, t.createdAt),
    index("import_jobs_status_idx").on(t.status),
  ],
);

/** The fund's loads of projects, classes, trainees and enrollments. */
export const masterDataJobs = sqliteTable("master_data_jobs", { ...queueColumns(), ...uploadColumns() }, (t) => [
  index("master_data_jobs_status_idx").on(t.status),
]);

export const enrollments = sqliteTable(
  "enrollments",
  {
    id: integer("id").primaryKey(),
    classId: integer("class_id")
      .notNull()
      .references(() => classes.id),
    participantId: integer("participant_id")
      .notNull()
      .references(() => participants.id),
    // Copied from the project so that dashboard aggregates read one indexed table.
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id),
    agencyId: agencyOf(),
    year: integer("year").notNull(),
    // Copied from the class, for the same reason.
    homogeneous: integer("homogeneous", { mode: "boolean" }).notNull().default(false),
    // A vulnerable category code, "NO", or null while undeclared. In a homogeneous class it
    // is the class's category, so that "declared" is one column for every enrollment.
    fasciaDebole: text("fascia_debole"),
    placed: integer("placed", { mode: "boolean" }),
    hireDate: text("hire_date"),
    contractType: text("contract_type").references(() => contractTypes.code),
    employerVat: text("employer_vat"),
    employerName: text("employer_name"),
    updatedByUserId: integer("updated_by_user_id").references(() => users.id),
    updatedByUploadJobId: integer("updated_by_import_job_id").references(() => uploadJobs.id),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }),
    // Counts the changes to the declarations; with the id it makes the "Versione" of an
    // exported row, so that an upload knows how old each of its rows is.
    revision: integer("revision").notNull().default(0),
    // The placement rule's outcome (services/minimums.ts), kept with the row by its writers
    // so that every count of placements (the dashboards' kept counts, the fund's file, the
    // closing report) reads it without looking up the project.
    countsAsPlaced: integer("counts_as_placed", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    uniqueIndex("enrollments_class_participant_idx").on(t.classId, t.participantId),
    // Covering indexes: aggregates over an agency's year read the index alone, never the
    // table (the kept counts' recount, a training type's trainees, the report).
    index("enrollments_dashboard_idx").on(t.agencyId, t.year, t.projectId, t.homogeneous, t.fasciaDebole, t.countsAsPlaced),
    index("enrollments_trainees_idx").on(t.agencyId, t.year, t.participantId),
    index("enrollments_project_idx").on(t.projectId),
    index("enrollments_participant_idx").on(t.participantId),
  ],
);

/**
 * Enrollments counted by what the dashboards group them by, one row per year, agency,
 * project, class kind and declaration (undeclared is ''): hundreds of rows where the
 * enrollments are thousands. Kept by triggers on enrollments (migration 0016), so every
 * writer of an enrollment keeps it in the same statement; read by the dashboards.
 */
export const enrollmentCounts = sqliteTable(
  "enrollment_counts",
  {
    year: integer("year").notNull(),
    agencyId: integer("agency_id").notNull(),
    projectId: integer("project_id").notNull(),
    homogeneous: integer("homogeneous").notNull(),
    fascia: text("fascia").notNull(),
    enrollments: integer("enrollments").notNull(),
    placed: integer("placed").notNull(),
  },
  (t) => [primaryKey({ columns: [t.year, t.agencyId, t.projectId, t.homogeneous, t.fascia] })],
);

/** How many distinct trainees each agency has in a year; kept by the same triggers. */
export const traineeCounts = sqliteTable(
  "trainee_counts",
  {
    year: integer("year").notNull(),
    agencyId: integer("agency_id").notNull(),
    trainees: integer("trainees").notNull(),
  },
  (t) => [primaryKey({ columns: [t.year, t.agencyId] })],
);

export const exportJobs = sqliteTable(
  "export_jobs",
  {
    ...queueColumns(),
    // No agency: the fund's file of every agency's data (dati acquisiti).
    agencyId: integer("agency_id").references(() => agencies.id),
    year: integer("year").notNull(),
    // The fund's file: the agencies it covers (JSON array of ids; empty for all of them).
    agencyIds: text("agency_ids", { mode: "json" }).$type<number[]>(),
    // An agency's file to fill in; the fund's file of every agency's data; the closing report.
    kind: text("kind", { enum: ["trainees", "consolidated", "report"] })
      .notNull()
      .default("trainees"),
    // JSON array of training type codes.
    trainingTypes: text("training_types", { mode: "json" }).$type<string[]>().notNull(),
    extraEmail: text("extra_email"),
    format: text("format", { enum: ["xlsx", "csv"] }).notNull(),
    status: text("status", { enum: ["queued", "running", "ready", "failed", "expired"] })
      .notNull()
      .default("queued"),
    rowCount: integer("row_count"),
    filePath: text("file_path"),
    fileSize: integer("file_size"),
  },
  (t) => [
    index("export_jobs_agency_idx").on(t.agencyId, t.createdAt),
    index("export_jobs_status_idx").on(t.status),
  ],
);

export const uploadRowOutcomes = sqliteTable(
  "import_row_outcomes",
  {
    id: integer("id").primaryKey(),
    uploadJobId: integer("import_job_id")
      .notNull()
      .references(() => uploadJobs.id, { onDelete: "cascade" }),
    rowNumber: integer("row_number").notNull(),
    enrollmentId: integer("enrollment_id").references(() => enrollments.id),
    outcome: text("outcome", { enum: ["OK", "KO", "INVARIATO"] }).notNull(),
    message: text("message"),
  },
  (t) => [
    index("import_row_outcomes_job_idx").on(t.uploadJobId, t.rowNumber),
    // One person's data, and a campaign's retention, find their rows by enrollment.
    index("import_row_outcomes_enrollment_idx").on(t.enrollmentId),
  ],
);

export const mailOutbox = sqliteTable(
  "mail_outbox",
  {
    id: integer("id").primaryKey(),
    recipients: text("recipients", { mode: "json" }).$type<string[]>().notNull(),
    // The campaign the message is about, if any: its retention removes the message.
    year: integer("year"),
    subject: text("subject").notNull(),
    textBody: text("text_body").notNull(),
    // "sending": claimed by a round until next_attempt_at, written before the message leaves.
    status: text("status", { enum: ["pending", "sending", "sent", "failed"] }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }),
    lastError: text("last_error"),
    createdAt: createdAt(),
    sentAt: integer("sent_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("mail_outbox_status_idx").on(t.status, t.nextAttemptAt)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    userId: integer("user_id").references(() => users.id),
    agencyId: integer("agency_id").references(() => agencies.id),
    action: text("action").notNull(),
    target: text("target"),
    detail: text("detail"),
    address: text("address"),
  },
  (t) => [index("audit_log_at_idx").on(t.at), index("audit_log_agency_idx").on(t.agencyId, t.at)],
);

export const CHANGE_SOURCES = ["upload", "edit", "master"] as const;
export type ChangeSource = (typeof CHANGE_SOURCES)[number];

/**
 * The history of an enrollment's declarations: one row per field changed, all the rows of
 * one change sharing the revision it produced.
 */
export const enrollmentChanges = sqliteTable(
  "enrollment_changes",
  {
    id: integer("id").primaryKey(),
    enrollmentId: integer("enrollment_id")
      .notNull()
      .references(() => enrollments.id),
    revision: integer("revision").notNull(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    userId: integer("user_id").references(() => users.id),
    source: text("source", { enum: CHANGE_SOURCES }).notNull(),
    uploadJobId: integer("import_job_id").references(() => uploadJobs.id),
    masterDataJobId: integer("master_data_job_id").references(() => masterDataJobs.id),
    field: text("field").notNull(),
    oldValue: text("old_value"),
    newValue: text("new_value"),
  },
  (t) => [index("enrollment_changes_enrollment_idx").on(t.enrollmentId, t.revision)],
);

/** The ids of the data keys the files have been sealed with: a start with none of them is refused. */
export const dataKeys = sqliteTable("data_keys", {
  id: text("id").primaryKey(),
  firstUsedAt: integer("first_used_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * Personal API tokens: the token is shown once and only its SHA-256 is kept (it is long and
 * random, so a fast hash is enough and every call can be checked without a slow one).
 */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: integer("id").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    // Who or what revoked it: "user", "fund", "cli", "password", "two_factor".
    revokedBy: text("revoked_by"),
  },
  (t) => [index("api_tokens_user_idx").on(t.userId)],
);

/**
 * The answer given to a POST under an Idempotency-Key, so that a retry gets it again instead
 * of booking or uploading twice; `status` is null while the first request is still running.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tokenId: integer("token_id")
      .notNull()
      .references(() => apiTokens.id),
    key: text("key").notNull(),
    // What was asked (route and a digest of the request), so that a key reused for another request is refused.
    fingerprint: text("fingerprint").notNull(),
    status: integer("status"),
    body: text("body"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tokenId, t.key] }), index("idempotency_keys_created_idx").on(t.createdAt)],
);
