import { type AgencyCampaign, type CampaignState } from "../../src/services/campaigns.ts";
import { DeadlineText } from "../partials/deadline.tsx";
import { formatDate } from "../../src/format.ts";
import type { PageContext } from "../context.ts";
import { Layout } from "../layout.tsx";
import { ExportSection, type ExportSectionProps } from "../partials/export-section.tsx";
import { UploadSection, type UploadSectionProps } from "../partials/upload-section.tsx";
import { PlacementTabs } from "../partials/placement-tabs.tsx";
import { TableHead } from "../partials/table-head.tsx";

const STATE_TEXT: Record<CampaignState, string> = {
  not_open_yet: "non ancora aperta",
  open: "aperta",
  closed: "chiusa",
};

export type CampaignRow = { campaign: AgencyCampaign; state: CampaignState; daysLeft: number };

export function PlacementPage(props: {
  ctx: PageContext;
  campaigns: CampaignRow[];
  exports: ExportSectionProps;
  uploads: UploadSectionProps;
}) {
  return (
    <Layout ctx={props.ctx}>
      <h1>Placement</h1>
      <PlacementTabs current="import" />
      <p class="subtitle">
        Import massivo fasce deboli: prenota il file, compila una colonna per allievo, ricaricalo e leggi l'esito.
      </p>
      {props.campaigns.length === 0 ? (
        <p class="notice info">Nessuna campagna configurata: il Fondo non ha ancora aperto una raccolta.</p>
      ) : (
        <table class="campaigns">
          <TableHead headings={["Campagna", "Apertura", "Scadenza", "Stato"]} />
          <tbody>
            {props.campaigns.map(({ campaign, state, daysLeft }) => (
              <tr>
                <td>{campaign.year}</td>
                <td>{formatDate(campaign.opensOn)}</td>
                <td>
                  <DeadlineText campaign={campaign} />
                </td>
                <td>
                  <span class={`badge ${state === "open" ? "ok" : "warn"}`}>{STATE_TEXT[state]}</span>
                  {state === "open" && ` · ${daysLeft === 1 ? "ultimo giorno" : `${daysLeft} giorni alla scadenza`}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ExportSection {...props.exports} />
      <UploadSection {...props.uploads} />
    </Layout>
  );
}
