import { describe, expect, test } from "bun:test";
import { EnrollmentIndex, RowEvaluator } from "../../src/services/uploads.ts";
import type { EnrollmentFacts } from "../../src/services/declarations.ts";
import type { KeyedFacts } from "../../src/services/enrollments.ts";
import { matchHeader, TRAINEE_COLUMNS } from "../../src/sheets/columns.ts";

const CF = "RSSMRA85T10A562S";
const facts: EnrollmentFacts = {
  enrollmentId: 7,
  revision: 0,
  homogeneous: false,
  classCategory: null,
  projectEndDate: "2019-05-31",
  fasciaDebole: null,
  placed: null,
  hireDate: null,
  contractType: null,
  employerVat: null,
  employerName: null,
};
const codes = {
  categories: new Map([
    ["GIOV", true],
    ["DISAB", true],
  ]),
  contractTypes: new Map([["STD", true]]),
};
const header = TRAINEE_COLUMNS.map((c) => c.header);
const at = (key: string) => TRAINEE_COLUMNS.findIndex((c) => c.key === key);

const indexOf = (...list: KeyedFacts[]) => {
  const index = new EnrollmentIndex();
  for (const e of list) index.add(e);
  return index;
};

function evaluate(rows: Record<string, string>[]) {
  const evaluator = new RowEvaluator({
    positions: matchHeader(header).positions,
    facts: indexOf({ ...facts, projectCode: "2019-P1", classCode: "AULA-1", codiceFiscale: CF }),
    codes,
    year: 2019,
    today: "2020-09-15",
    since: () => null,
  });
  rows.forEach((values, i) => {
    const cells: (string | null)[] = header.map(() => null);
    cells[at("projectCode")] = "2019-P1";
    cells[at("classCode")] = "AULA-1";
    cells[at("codiceFiscale")] = CF;
    for (const [key, value] of Object.entries(values)) cells[at(key)] = value;
    evaluator.add({ line: i + 2, cells });
  });
  return evaluator.rows.map((r) => [r.outcome, r.message] as const);
}

describe("the same enrollment on several rows", () => {
  test("one valid and one invalid value: both rows are errors, nothing applies", () => {
    const [first, second] = evaluate([{ fasciaDebole: "GIOV" }, { fasciaDebole: "XYZ" }]);
    expect(first![0]).toBe("KO");
    expect(first![1]).toContain("compare anche alla riga 3 con valori diversi");
    expect(second![0]).toBe("KO");
    expect(second![1]).toContain("il codice «XYZ» non esiste");
    expect(second![1]).toContain("compare anche alla riga 2");
  });

  test("three rows, two alike and one different: all three are errors", () => {
    const outcomes = evaluate([{ fasciaDebole: "GIOV" }, { fasciaDebole: "giov" }, { fasciaDebole: "DISAB" }]);
    expect(outcomes.map((o) => o[0])).toEqual(["KO", "KO", "KO"]);
    expect(outcomes[0]![1]).toContain("alle righe 3, 4");
  });

  test("the same values twice: the first applies, the second is unchanged", () => {
    expect(evaluate([{ fasciaDebole: "GIOV" }, { fasciaDebole: " giov " }])).toEqual([
      ["OK", null],
      ["INVARIATO", "Stessi valori della riga 2."],
    ]);
  });
});

describe("numbers that lost their leading zeros", () => {
  test("a partita IVA saved by Excel from a CSV as 10 digits gets its zero back", () => {
    const [outcome] = evaluate([{ placed: "SI", hireDate: "10/06/2019", contractType: "STD", employerVat: "0488410010".slice(1) }]);
    expect(outcome![0]).toBe("OK");
  });
});

describe("finding a row's enrollment", () => {
  const index = indexOf(
    { ...facts, enrollmentId: 1, projectCode: "2019-P1", classCode: "AULA-1", codiceFiscale: CF },
    { ...facts, enrollmentId: 2, projectCode: "2019-P1", classCode: "aula-2", codiceFiscale: CF },
    { ...facts, enrollmentId: 3, projectCode: "2019-P2", classCode: "AULA-1", codiceFiscale: CF },
    { ...facts, enrollmentId: 4, projectCode: "2019-P1", classCode: "AULA-1", codiceFiscale: "VRDLGU80A01H501U" },
  );
  test.each([
    ["2019-P1", "AULA-1", CF, 1],
    ["2019-p1", "Aula-2", CF, 2],
    ["2019-P2", "aula-1", CF, 3],
    ["2019-P1", "AULA-1", "VRDLGU80A01H501U", 4],
    ["2019-P2", "AULA-2", CF, undefined],
    ["2019-P1", "AULA-1", "BNCGPP70A01F205X", undefined],
  ])("%s, %s, %s: enrollment %p", (project, cls, cf, id) => {
    expect(index.find(project, cls, cf)?.enrollmentId).toBe(id);
  });
});
