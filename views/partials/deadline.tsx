import { formatDate } from "../../src/format.ts";
import type { AgencyCampaign } from "../../src/services/campaigns.ts";

/** The deadline an agency must meet: its proroga when the fund granted one, with the campaign's beside it. */
export function DeadlineText(props: { campaign: AgencyCampaign }) {
  const c = props.campaign;
  if (!c.extension) return <>{formatDate(c.deadline)} (fine giornata)</>;
  return (
    <>
      <strong class="extension">proroga fino al {formatDate(c.deadline)}</strong> (fine giornata; la scadenza della campagna è il{" "}
      {formatDate(c.campaignDeadline)})
    </>
  );
}
