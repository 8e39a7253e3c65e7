import type { PageContext } from "../context.ts";
import { type AgencyCampaign } from "../../src/services/campaigns.ts";
import { DeadlineText } from "../partials/deadline.tsx";
import type { AgencyFigures, ProjectProgress, ProjectSort } from "../../src/services/dashboard.ts";
import { Layout } from "../layout.tsx";
import { raw } from "hono/html";
import { formatNumber, formatPercent } from "../../src/format.ts";
import { bar, barText, SortHeader } from "../partials/figures.tsx";
import { PlacementTabs } from "../partials/placement-tabs.tsx";
import { TableHead } from "../partials/table-head.tsx";
import { YearField } from "../partials/year-picker.tsx";

export type DashboardProps = {
  ctx: PageContext;
  heading: string;
  action: string;
  years: number[];
  year: number;
  trainingTypes: { code: string; description: string }[];
  trainingType: string | null;
  campaign: { campaign: AgencyCampaign; daysLeft: number; open: boolean } | null;
  figures: AgencyFigures;
  categories: { code: string; description: string }[];
  sort: ProjectSort;
  withJobs: boolean;
};

/**
 * The rows of the per-project table, one per project: hundreds for a large agency. Written
 * as text, every free value escaped by Bun's native `escapeHTML`: hono's html template took
 * three times longer for them, and JSX six (bench/dashboard.ts).
 */
function projectRows(projects: ProjectProgress[]) {
  const e = Bun.escapeHTML;
  let rows = "";
  for (const p of projects) {
    const code = e(p.code);
    const declared = p.mixed
      ? `${barText(p.declaredMixed, p.mixed, `Dichiarate ${p.code}`)} <span class="muted">${p.declaredMixed}/${p.mixed}</span>`
      : `<span class="muted">solo aule omogenee</span>`;
    rows += `<tr data-project="${code}"><td class="mono"><a href="/progetti/${p.id}">${code}</a></td><td>${e(p.title)}</td><td class="mono">${e(p.trainingType)}</td><td class="num">${formatNumber(p.enrollments)}</td><td>${declared}</td><td>${barText(p.placed, p.enrollments, `Placement ${p.code}`)}${minimumNote(p.minimum, p.belowMinimum)}</td></tr>`;
  }
  return raw(rows);
}

/** A training type's minimum beside a placement rate, and whether the rate misses it. */
function minimumNote(minimum: number | null, below: boolean): string {
  if (minimum === null) return "";
  return below ? ` <span class="badge ko below-minimum">sotto il minimo del ${minimum}%</span>` : ` <span class="muted">minimo ${minimum}%</span>`;
}

function Fact(props: { label: string; value: string; note?: string }) {
  return (
    <div class="fact">
      <div class="fact-value">{props.value}</div>
      <div class="fact-label">{props.label}</div>
      {props.note && <div class="muted">{props.note}</div>}
    </div>
  );
}

export function DashboardPage(props: DashboardProps) {
  const f = props.figures;
  const declaredMixed = f.mixedEnrollments - f.undeclared;
  const query = (extra: Record<string, string>) => {
    const params = new URLSearchParams({ anno: String(props.year), ...(props.trainingType ? { tipologia: props.trainingType } : {}), ...extra });
    return `${props.action}?${params}`;
  };
  const sortHeader = (label: string, column: ProjectSort["column"], numeric = true) => (
    <SortHeader label={label} column={column} numeric={numeric} current={props.sort} href={(by, descending) => query({ ordina: by, verso: descending ? "desc" : "asc" })} />
  );
  const categoryName = new Map(props.categories.map((c) => [c.code, c.description]));
  const categoryRows = [...f.declaredByCategory].sort((a, b) => b[1] - a[1]);
  return (
    <Layout ctx={props.ctx}>
      <h1>{props.heading}</h1>
      {props.withJobs && <PlacementTabs current="cruscotto" />}
      <form method="get" action={props.action} class="filters">
        <YearField years={props.years} selected={props.year} />
        <label>
          Tipologia formativa
          <select name="tipologia">
            <option value="">Tutte</option>
            {props.trainingTypes.map((t) => (
              <option value={t.code} selected={t.code === props.trainingType}>
                {t.description}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Aggiorna</button>
      </form>
      {props.campaign && (
        <p class={`notice ${props.campaign.open ? "info" : "error"}`}>
          Campagna {props.year}: scadenza <DeadlineText campaign={props.campaign.campaign} />.{" "}
          {props.campaign.open
            ? props.campaign.daysLeft === 1
              ? "Oggi è l'ultimo giorno."
              : `Mancano ${props.campaign.daysLeft} giorni.`
            : "Non è possibile inviare dati."}
        </p>
      )}

      <section class="facts" aria-label="Riepilogo">
        <Fact label="Allievi" value={formatNumber(f.trainees)} />
        <Fact label="Iscrizioni" value={formatNumber(f.enrollments)} />
        <Fact
          label="In aule omogenee"
          value={formatNumber(f.homogeneousEnrollments)}
          note={`${formatNumber(f.homogeneousClasses)} aule`}
        />
        <Fact label="In aule non omogenee" value={formatNumber(f.mixedEnrollments)} note={`${formatNumber(f.mixedClasses)} aule`} />
        <Fact
          label="Dichiarate (aule non omogenee)"
          value={formatPercent(declaredMixed, f.mixedEnrollments)}
          note={`${formatNumber(declaredMixed)} su ${formatNumber(f.mixedEnrollments)}`}
        />
        <Fact label="Tasso di placement" value={formatPercent(f.placed, f.enrollments)} note={`${formatNumber(f.placed)} assunti`} />
        {f.projects.some((p) => p.minimum !== null) && (
          <Fact
            label="Progetti sotto il minimo di placement"
            value={formatNumber(f.projectsBelow)}
            note={`su ${formatNumber(f.projects.filter((p) => p.minimum !== null).length)} con un minimo`}
          />
        )}
      </section>

      <div class="columns">
        <section>
          <h2>Fasce deboli nelle aule non omogenee</h2>
          <table class="figures" id="declarations">
            <TableHead headings={["Dichiarazione", { num: "Iscrizioni" }, "Quota"]} />
            <tbody>
              {categoryRows.map(([code, n]) => (
                <tr data-code={code}>
                  <td>
                    <span class="mono">{code}</span> <span class="muted">{categoryName.get(code) ?? ""}</span>
                  </td>
                  <td class="num">{formatNumber(n)}</td>
                  <td>
                    {bar(n, f.mixedEnrollments, code)}
                  </td>
                </tr>
              ))}
              <tr data-code="NO">
                <td>NO · non appartiene a fasce deboli</td>
                <td class="num">{formatNumber(f.declaredNo)}</td>
                <td>
                  {bar(f.declaredNo, f.mixedEnrollments, "NO")}
                </td>
              </tr>
              <tr data-code="" class="undeclared">
                <td>Ancora da dichiarare</td>
                <td class="num">{formatNumber(f.undeclared)}</td>
                <td>
                  {bar(f.undeclared, f.mixedEnrollments, "Da dichiarare")}
                </td>
              </tr>
            </tbody>
          </table>
        </section>
        <section>
          <h2>Placement per tipologia formativa</h2>
          <table class="figures" id="placement-by-type">
            <TableHead headings={["Tipologia", { num: "Iscrizioni" }, { num: "Assunti" }, "Tasso"]} />
            <tbody>
              {f.byTrainingType.map((t) => (
                <tr data-type={t.trainingType}>
                  <td class="mono">{t.trainingType}</td>
                  <td class="num">{formatNumber(t.enrollments)}</td>
                  <td class="num">{formatNumber(t.placed)}</td>
                  <td>
                    {bar(t.placed, t.enrollments, `Placement ${t.trainingType}`)}
                    {t.minimum !== null && <span class="muted"> minimo {t.minimum}% per progetto</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>

      <h2>Avanzamento per progetto</h2>
      <table id="projects">
        <TableHead
          headings={[
            sortHeader("Progetto", "codice", false),
            "Titolo",
            "Tipologia",
            sortHeader("Iscrizioni", "iscrizioni"),
            sortHeader("Dichiarate", "dichiarate"),
            sortHeader("Placement", "placement"),
          ]}
        />
        <tbody>{projectRows(f.projects)}</tbody>
      </table>

      {props.withJobs && (
        <section>
          <h2>Ultime elaborazioni</h2>
          {/* Loaded after the page, and kept live by its own rows. */}
          <div hx-get="/placement/ultime-elaborazioni" hx-trigger="load" hx-swap="outerHTML">
            <p>
              <a href="/placement/riepilogo">Riepilogo di tutte le elaborazioni</a>
            </p>
          </div>
        </section>
      )}
    </Layout>
  );
}
