import { expect, test } from "bun:test";
import { excelSerial, isoFromSerial, readVersion, versionText } from "../../src/sheets/cells.ts";

test("a serial's day is the calendar's, from 1900 to 9999, its time of day dropped; outside the calendar there is none", () => {
  const epoch = Date.UTC(1899, 11, 30);
  const mismatches: number[] = [];
  for (let serial = 1; serial < 2_958_466; serial += 97) {
    const day = new Date(epoch + serial * 86_400_000).toISOString().slice(0, 10);
    if (isoFromSerial(serial) !== day || isoFromSerial(serial + 0.99) !== day || excelSerial(day) !== serial) mismatches.push(serial);
  }
  expect(mismatches).toEqual([]);
  expect([isoFromSerial(1), isoFromSerial(60), isoFromSerial(61), isoFromSerial(43_891), isoFromSerial(2_958_465)]).toEqual([
    "1899-12-31",
    "1900-02-28",
    "1900-03-01",
    "2020-03-01",
    "9999-12-31",
  ]);
  expect([isoFromSerial(0), isoFromSerial(-5), isoFromSerial(2_958_466), isoFromSerial(Number.NaN)]).toEqual([null, null, null, null]);
});

test("a row's version reads back as the enrollment and revision it was written for", () => {
  for (const enrollmentId of [1, 19, 20, 399, 400, 123_456, 9_999_999]) {
    for (const revision of [0, 1, 21, 8_000]) {
      expect(readVersion(versionText({ enrollmentId, revision }))).toEqual({ enrollmentId, revision });
    }
  }
  expect(readVersion(` ${versionText({ enrollmentId: 77, revision: 3 }).toLowerCase()} `)).toEqual({ enrollmentId: 77, revision: 3 });
});
