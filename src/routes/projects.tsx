import { Hono } from "hono";
import { ProjectPage } from "../../views/pages/project.tsx";
import { ProjectsPage } from "../../views/pages/projects.tsx";
import { z } from "zod";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ClassPage } from "../../views/pages/class.tsx";
import { TraineeEditRow, TraineeHistoryRow, TraineeRow, type RowContext } from "../../views/partials/trainee-row.tsx";
import { clientAddress, idParam, notFound, pageContext, requireUser, signedInScope, signedInUser, type AppEnv } from "../http.ts";
import { getProject, listProjects } from "../services/projects.ts";
import { recordAudit } from "../services/audit.ts";
import { hasPlacementPermission } from "../services/auth.ts";
import { classRoster, enrollmentHistory, projectRoster, saveDeclaration, traineeLine } from "../services/enrollments.ts";
import { campaignClosedReason } from "../services/campaigns.ts";
import { activeCodes } from "../services/reference-lists.ts";
import { readVersion } from "../sheets/cells.ts";
import { traineeColumn } from "../sheets/columns.ts";
import { DECLARATION_FIELDS, type DeclarationField, type DeclarationInput } from "../services/declarations.ts";
import { selectedYear } from "./year.ts";

// The form's fields are named by the columns they edit (src/sheets/columns.ts).
const fieldOf = (key: DeclarationField) => traineeColumn(key).field!;
// Every field of the row, each at most 200 characters; which are declarations is decided below.
const editForm = z.record(z.string(), z.string().max(200));

// The class page's table: trainee, its six declarations and the actions.
const ROSTER_COLUMNS = 9;

/** Agency users with the Placement permission edit while the campaign is open; the fund only reads. */
function mayEdit(c: Context<AppEnv>): boolean {
  const user = signedInUser(c);
  return user.agencyId !== null && hasPlacementPermission(user);
}

function assertCanEdit(c: Context<AppEnv>, closedReason: string | null): void {
  if (!mayEdit(c)) throw new HTTPException(403, { message: "Non hai il permesso di modificare i dati di placement." });
  if (closedReason) throw new HTTPException(409, { message: closedReason });
}

function rowContext(c: Context<AppEnv>, projectId: number, classId: number, open: boolean): RowContext {
  const { db } = c.get("deps");
  return {
    base: `/progetti/${projectId}/aule/${classId}/iscrizioni`,
    editable: open && mayEdit(c),
    categories: activeCodes(db, "categories"),
    contractTypes: activeCodes(db, "contractTypes"),
  };
}

/** The trainee named by the URL, within the user's scope, or 404. */
function lineInScope(c: Context<AppEnv>) {
  const { db } = c.get("deps");
  const scope = signedInScope(c);
  const roster = classRoster(db, scope, idParam(c, "id"), idParam(c, "classId")) ?? notFound();
  const line = traineeLine(db, scope, roster.id, idParam(c, "eid")) ?? notFound();
  const closed = () => campaignClosedReason(db, roster.year, c.get("deps").clock.now(), roster.agencyId);
  return { line, year: roster.year, projectId: roster.projectId, classId: roster.id, closed };
}

export const projectRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get("/", (c) => {
    const { db } = c.get("deps");
    const { years, year } = selectedYear(c);
    const projects = listProjects(db, signedInScope(c), year);
    return c.html(
      <ProjectsPage
        ctx={pageContext(c, "Progetti", "progetti")}
        heading={c.get("agencyName") ?? "Progetti"}
        action="/progetti"
        years={years}
        year={year}
        projects={projects}
      />,
    );
  })
  .get("/:id/aule/:classId", (c) => {
    const { db, clock } = c.get("deps");
    const roster = classRoster(db, signedInScope(c), idParam(c, "id"), idParam(c, "classId")) ?? notFound();
    const closed = campaignClosedReason(db, roster.year, clock.now(), roster.agencyId);
    // The page shows its trainees' fasce deboli: who looked is kept.
    recordAudit(db, clock, {
      action: "class_view",
      userId: signedInUser(c).id,
      agencyId: roster.agencyId,
      target: `class:${roster.id}`,
      detail: { project: roster.projectCode, class: roster.code, year: roster.year },
      address: clientAddress(c),
    });
    return c.html(
      <ClassPage
        ctx={pageContext(c, `${roster.code} · ${roster.projectCode}`, "progetti")}
        roster={roster}
        row={rowContext(c, roster.projectId, roster.id, closed === null)}
        closedReason={closed}
      />,
    );
  })
  .get("/:id/aule/:classId/iscrizioni/:eid", (c) => {
    const { line, projectId, classId, closed } = lineInScope(c);
    return c.html(<TraineeRow line={line} row={rowContext(c, projectId, classId, closed() === null)} />);
  })
  .get("/:id/aule/:classId/iscrizioni/:eid/modifica", (c) => {
    const { line, projectId, classId, closed } = lineInScope(c);
    assertCanEdit(c, closed());
    return c.html(<TraineeEditRow line={line} row={rowContext(c, projectId, classId, true)} />);
  })
  .post("/:id/aule/:classId/iscrizioni/:eid", async (c) => {
    const { db, clock } = c.get("deps");
    const { line, projectId, classId, closed: closedNow } = lineInScope(c);
    const row = rowContext(c, projectId, classId, true);
    const parsed = editForm.safeParse(await c.req.parseBody());
    if (!parsed.success) {
      assertCanEdit(c, null);
      return c.html(<TraineeEditRow line={line} row={row} errors={["Ogni campo può contenere al massimo 200 caratteri: accorcialo e salva di nuovo."]} />, 422);
    }
    const form = parsed.data;
    const closed = closedNow();
    if (closed) {
      assertCanEdit(c, null);
      return c.html(<TraineeEditRow line={line} row={row} input={form} errors={[closed]} />, 422);
    }
    assertCanEdit(c, null);
    const user = signedInUser(c);
    const result = saveDeclaration(db, clock, user, line, {
      input: Object.fromEntries(
        DECLARATION_FIELDS.map((key) => [key, key === "fasciaDebole" && line.homogeneous ? "" : (form[fieldOf(key)] ?? "")]),
      ) as DeclarationInput,
      version: readVersion(form.versione ?? ""),
    }, (set) =>
      recordAudit(db, clock, {
        action: "enrollment_edit",
        userId: user.id,
        agencyId: user.agencyId,
        target: `enrollment:${line.enrollmentId}`,
        // Which fields changed, not their values: trainees' declarations stay out of the log.
        detail: { fields: Object.keys(set) },
        address: clientAddress(c),
      }),
    );
    if (!result.ok) return c.html(<TraineeEditRow line={line} row={row} input={form} errors={result.errors} />, 422);
    const saved = traineeLine(db, signedInScope(c), classId, line.enrollmentId)!;
    return c.html(<TraineeRow line={saved} row={rowContext(c, projectId, classId, true)} saved />);
  })
  .get("/:id/aule/:classId/iscrizioni/:eid/storico", (c) => {
    const { line } = lineInScope(c);
    const entries = enrollmentHistory(c.get("deps").db, signedInScope(c), line.enrollmentId);
    return c.html(<TraineeHistoryRow enrollmentId={line.enrollmentId} entries={entries} columns={ROSTER_COLUMNS} />);
  })
  .get("/:id", (c) => {
    const { db } = c.get("deps");
    const scope = signedInScope(c);
    const project = getProject(db, scope, idParam(c, "id")) ?? notFound();
    const roster = projectRoster(db, scope, project.id);
    return c.html(<ProjectPage ctx={pageContext(c, project.title, "progetti")} project={project} roster={roster} />);
  });
