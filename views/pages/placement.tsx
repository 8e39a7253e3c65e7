import { formatDate, type Campaign, type CampaignState } from "../../src/services/campaigns.ts";
import type { PageContext } from "../../src/http.ts";
import { Layout } from "../layout.tsx";

const STATE_TEXT: Record<CampaignState, string> = {
  not_open_yet: "non ancora aperta",
  open: "aperta",
  closed: "chiusa",
};

export function PlacementPage(props: { ctx: PageContext; campaigns: { campaign: Campaign; state: CampaignState; daysLeft: number }[] }) {
  return (
    <Layout ctx={props.ctx}>
      <h1>Placement</h1>
      <p class="subtitle">Import massivo fasce deboli e dati di placement.</p>
      <h2>Campagne</h2>
      {props.campaigns.length === 0 ? (
        <p class="notice info">Nessuna campagna configurata: il Fondo non ha ancora aperto una raccolta.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Anno</th>
              <th>Apertura</th>
              <th>Scadenza</th>
              <th>Stato</th>
            </tr>
          </thead>
          <tbody>
            {props.campaigns.map(({ campaign, state, daysLeft }) => (
              <tr>
                <td>{campaign.year}</td>
                <td>{formatDate(campaign.opensOn)}</td>
                <td>{formatDate(campaign.deadline)} (fine giornata)</td>
                <td>
                  <span class={`badge ${state === "open" ? "ok" : "warn"}`}>{STATE_TEXT[state]}</span>
                  {state === "open" && ` · ${daysLeft === 1 ? "ultimo giorno" : `${daysLeft} giorni alla scadenza`}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
