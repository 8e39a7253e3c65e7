import { describe, expect, test } from "bun:test";
import { campaignState, daysLeft, type Campaign } from "../../src/services/campaigns.ts";

const campaign2019: Campaign = { year: 2019, opensOn: "2020-08-04", deadline: "2020-11-30", timezone: "Europe/Rome", reminderDays: [14, 7, 2], remindersOn: true, incompleteListSentAt: null, retentionYears: null, anonymisedAt: null };

describe("campaign window (Europe/Rome)", () => {
  test.each([
    ["2020-08-03T21:59:59Z", "not_open_yet"], // 23:59:59 on 3 August, summer time
    ["2020-08-03T22:00:00Z", "open"], // midnight of 4 August in Rome
    ["2020-11-30T22:59:59Z", "open"], // 23:59:59 on the deadline, winter time
    ["2020-11-30T23:00:00Z", "closed"], // midnight after the deadline in Rome
  ])("at %s the campaign is %s", (instant, state) => {
    expect(campaignState(campaign2019, new Date(instant))).toBe(state as ReturnType<typeof campaignState>);
  });

  test("days left count the deadline day itself", () => {
    expect(daysLeft(campaign2019, new Date("2020-11-30T10:00:00Z"))).toBe(1);
    expect(daysLeft(campaign2019, new Date("2020-11-01T10:00:00Z"))).toBe(30);
    expect(daysLeft(campaign2019, new Date("2020-12-05T10:00:00Z"))).toBe(0);
  });
});
