import type { Db } from "../db/client.ts";
import { hashPassword } from "./auth.ts";
import { localDate } from "../format.ts";
import type { Clock } from "./clock.ts";
import { buildCodiceFiscale } from "./codice-fiscale.ts";
import { recountPlaced } from "./minimums.ts";
import { partitaIvaCheckDigit } from "./partita-iva.ts";

export const DEMO_PASSWORD = "demo1234";
export const DEMO_FUND_OPERATOR_EMAIL = "operatore@formatemp.demo";

const AGENCY_NAMES = [
  ["Lavoro Insieme S.p.A.", "lavoroinsieme"],
  ["Tempo Pieno Agenzia per il Lavoro S.r.l.", "tempopieno"],
  ["Risorse Adriatiche S.p.A.", "risorseadriatiche"],
  ["Orizzonte Impiego S.r.l.", "orizzonteimpiego"],
  ["Alpi Lavoro S.p.A.", "alpilavoro"],
  ["Mediterranea Risorse Umane S.r.l.", "mediterranea"],
] as const;

const SURNAMES = [
  "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
  "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
  "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone",
  "Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti",
  "Parisi", "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini",
  "Messina", "Sala", "De Angelis", "Gatti", "Pellegrini", "Palumbo", "Sanna", "Farina", "Rizzi", "Monti",
  "Cattaneo", "Morelli", "Amato", "Silvestri", "Mazza", "Testa", "Grassi", "Pellegrino", "Carbone", "Giuliani",
  "Benedetti", "Barone", "Rossetti", "Caputo", "Montanari", "Guerra", "Palmieri", "Bernardi", "Martino", "Fiore",
  "Ruggiero", "Coletti", "Orlando", "Piras", "Neri", "Dell'Acqua", "Zanetti", "Bellini", "Basile", "Riva",
  "Donati", "Piazza", "Cirillo", "Sartori", "Bosco", "Fumagalli", "Pace", "Ventura", "Negri", "Hu",
];
const MALE_NAMES = [
  "Marco", "Alessandro", "Giuseppe", "Francesco", "Luca", "Andrea", "Matteo", "Lorenzo", "Davide", "Simone",
  "Federico", "Riccardo", "Gabriele", "Stefano", "Antonio", "Paolo", "Giovanni", "Nicola", "Salvatore", "Roberto",
  "Mohamed", "Ion", "Niccolò", "Emanuele", "Fabio", "Daniele", "Michele", "Tommaso", "Vincenzo", "Pietro",
];
const FEMALE_NAMES = [
  "Giulia", "Francesca", "Chiara", "Sara", "Martina", "Valentina", "Alessia", "Federica", "Elisa", "Silvia",
  "Laura", "Anna", "Maria", "Elena", "Giorgia", "Roberta", "Paola", "Ilaria", "Beatrice", "Camilla",
  "Fatima", "Elena Maria", "Noemi", "Aurora", "Alice", "Serena", "Monica", "Claudia", "Rosa", "Lucia",
];
// Belfiore codes: large Italian towns and a few foreign states (Z…).
const PLACES = [
  "H501", "F205", "F839", "L219", "G273", "D969", "A944", "D612", "A662", "C351", "L736", "L781", "G224",
  "B157", "H224", "E506", "G478", "A271", "F158", "L424", "Z129", "Z100", "Z330", "Z210", "Z604",
];
const EMPLOYERS = [
  "Meccanica Lombarda S.r.l.", "Logistica Padana S.p.A.", "Alimentari del Sud S.r.l.", "Servizi Integrati Roma S.p.A.",
  "Tessile Veneta S.r.l.", "Costruzioni Adriatiche S.p.A.", "Ospitalità Toscana S.r.l.", "Elettronica Piemonte S.p.A.",
];
const TITLES: Record<string, string[]> = {
  BASE: ["Sicurezza sui luoghi di lavoro", "Competenze digitali di base", "Lingua italiana per il lavoro", "Orientamento al lavoro"],
  PROF: ["Operatore di magazzino e carrellista", "Addetto alla saldatura", "Operatore CNC", "Addetto paghe e contributi"],
  OTJ: ["Addestramento in linea di produzione", "Affiancamento al reparto logistica", "Operatore di cassa in affiancamento"],
  CONT: ["Aggiornamento normativa HACCP", "Lean manufacturing", "Gestione del cliente"],
  QUAL: ["Operatore socio sanitario", "Cuoco di ristorazione collettiva", "Tecnico manutentore"],
  RIQ: ["Riconversione verso la logistica", "Riqualificazione nell'assistenza alla persona", "Dal tessile all'e-commerce"],
};
const TRAINING_TYPES = Object.keys(TITLES);
const CATEGORIES = ["DIS6M", "GIOV", "NODIP", "OVER50", "ADSOLO", "GENERE", "MINETN", "MOLTOSV", "DISAB"];
const CONTRACTS = ["STD", "STI", "DTD", "DTI", "APP"];

/** Deterministic pseudo-random numbers (mulberry32), so a seed gives the same dataset. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}

const isoDate = (y: number, m: number, d: number) =>
  `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
const addDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString().slice(0, 10);

/** `years` campaigns ending with `year` (the open one), the enrollments spread evenly over them. */
export type DatasetOptions = { agencies: number; enrollments: number; year?: number; years?: number; seed?: number };
export type DatasetSummary = { agencies: number; projects: number; classes: number; participants: number; enrollments: number; users: number };

export class DatasetError extends Error {}

/**
 * Fills an empty database with agencies, users, the campaign and realistic projects,
 * classes, trainees and enrollments. Raw prepared statements in one transaction,
 * because a benchmark dataset has a million rows.
 */
export async function generateDataset(db: Db, clock: Clock, options: DatasetOptions): Promise<DatasetSummary> {
  const year = options.year ?? 2019;
  const rnd = random(options.seed ?? 2019);
  const sqlite = db.$client;
  const existing = sqlite.query("SELECT (SELECT count(*) FROM agencies) + (SELECT count(*) FROM users) AS n").get() as {
    n: number;
  };
  if (existing.n > 0) throw new DatasetError("the database already has agencies or users; use an empty DATA_DIR");
  if (options.agencies < 1 || options.enrollments < options.agencies) {
    throw new DatasetError("need at least one agency and one enrollment per agency");
  }

  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const today = localDate(clock.now(), "Europe/Rome");
  const summary: DatasetSummary = { agencies: 0, projects: 0, classes: 0, participants: 0, enrollments: 0, users: 0 };

  const insertAgency = sqlite.prepare("INSERT INTO agencies (code, name) VALUES (?, ?) RETURNING id");
  const insertUser = sqlite.prepare(
    "INSERT INTO users (agency_id, email, name, role, placement_permission, password_hash) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const insertProject = sqlite.prepare(
    "INSERT INTO projects (agency_id, code, title, training_type, year, start_date, end_date) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
  );
  const insertClass = sqlite.prepare(
    "INSERT INTO classes (project_id, code, homogeneous, category) VALUES (?, ?, ?, ?) RETURNING id",
  );
  const insertParticipant = sqlite.prepare(
    "INSERT INTO participants (codice_fiscale, surname, name, birth_date) VALUES (?, ?, ?, ?) RETURNING id",
  );
  const insertEnrollment = sqlite.prepare(
    `INSERT INTO enrollments (class_id, participant_id, project_id, agency_id, year, homogeneous, fascia_debole, placed,
       hire_date, contract_type, employer_vat, employer_name, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  const usedCodes = new Set<string>();
  const participantIds: number[] = [];
  const newParticipant = (): number => {
    for (;;) {
      const sex = rnd.chance(0.5) ? "M" : "F";
      const surname = rnd.pick(SURNAMES);
      const name = rnd.pick(sex === "M" ? MALE_NAMES : FEMALE_NAMES);
      const birthDate = isoDate(rnd.int(1958, 2003), rnd.int(1, 12), rnd.int(1, 28));
      const plain = buildCodiceFiscale({ surname, name, birthDate, sex, placeCode: rnd.pick(PLACES) });
      // Omocodia: the Agenzia delle Entrate alters a code that would equal an existing one.
      const code = usedCodes.has(plain) || rnd.chance(0.01)
        ? buildCodiceFiscale({ surname, name, birthDate, sex, placeCode: plain.slice(11, 15), omocodia: rnd.int(1, 3) })
        : plain;
      if (usedCodes.has(code)) continue;
      usedCodes.add(code);
      const { id } = insertParticipant.get(code, surname.toUpperCase(), name.toUpperCase(), birthDate) as { id: number };
      participantIds.push(id);
      summary.participants++;
      return id;
    }
  };

  const campaignYears = Array.from({ length: options.years ?? 1 }, (_, i) => year - (options.years ?? 1) + 1 + i);
  sqlite.transaction(() => {
    const insertCampaign = sqlite.prepare("INSERT INTO campaigns (year, opens_on, deadline, incomplete_list_sent_at) VALUES (?, ?, ?, ?)");
    for (const y of campaignYears) {
      // The latest campaign is open; the earlier ones closed at the end of the following year,
      // and the fund had their lists of incomplete agencies then.
      if (y === year) insertCampaign.run(year, isoDate(year + 1, 8, 4) < today ? isoDate(year + 1, 8, 4) : today, addDays(today, 30), null);
      else insertCampaign.run(y, isoDate(y + 1, 8, 4), isoDate(y + 1, 12, 15), Date.parse(`${isoDate(y + 1, 12, 16)}T08:00:00Z`));
    }
    const personName = () =>
      `${rnd.pick(rnd.chance(0.5) ? MALE_NAMES : FEMALE_NAMES)} ${rnd.pick(SURNAMES)}`;
    insertUser.run(null, DEMO_FUND_OPERATOR_EMAIL, personName(), "fund_operator", 1, passwordHash);
    summary.users++;

    const perAgency = Math.floor(options.enrollments / options.agencies);
    for (let a = 0; a < options.agencies; a++) {
      const [baseName, baseSlug] = AGENCY_NAMES[a % AGENCY_NAMES.length]!;
      const round = Math.floor(a / AGENCY_NAMES.length);
      const name = round === 0 ? baseName : `${baseName} ${round + 1}`;
      const slug = round === 0 ? baseSlug : `${baseSlug}${round + 1}`;
      const agencyCode = `APL${String(a + 1).padStart(3, "0")}`;
      const { id: agencyId } = insertAgency.get(agencyCode, name) as { id: number };
      summary.agencies++;
      insertUser.run(agencyId, `rpa@${slug}.demo`, personName(), "rpa", 1, passwordHash);
      insertUser.run(agencyId, `referente@${slug}.demo`, personName(), "referent", 1, passwordHash);
      insertUser.run(agencyId, `operatore@${slug}.demo`, personName(), "operator", 0, passwordHash);
      summary.users += 3;

      const agencyTotal = a === options.agencies - 1 ? options.enrollments - perAgency * a : perAgency;
      for (const [index, campaignYear] of campaignYears.entries()) {
        const perYear = Math.floor(agencyTotal / campaignYears.length);
        const target = index === campaignYears.length - 1 ? agencyTotal - perYear * index : perYear;
        let written = 0;
        for (let p = 1; written < target; p++) {
          const trainingType = rnd.pick(TRAINING_TYPES);
          const start = isoDate(campaignYear, rnd.int(1, 9), rnd.int(1, 28));
          const end = addDays(start, rnd.int(5, 90));
          const { id: projectId } = insertProject.get(
            agencyId,
            `${campaignYear}-${agencyCode}-${String(p).padStart(4, "0")}`,
            rnd.pick(TITLES[trainingType]!),
            trainingType,
            campaignYear,
            start,
            end,
          ) as { id: number };
          summary.projects++;
          const classCount = rnd.int(2, 5);
          for (let c = 1; c <= classCount && written < target; c++) {
            const homogeneous = rnd.chance(0.3);
            const category = homogeneous ? rnd.pick(CATEGORIES) : null;
            const { id: classId } = insertClass.get(projectId, `AULA-${c}`, homogeneous ? 1 : 0, category) as { id: number };
            summary.classes++;
            const size = Math.min(rnd.int(20, 34), target - written);
            const inClass = new Set<number>();
            for (let t = 0; t < size; t++) {
              // A few trainees attend more than one project.
              let participantId =
                participantIds.length > 50 && rnd.chance(0.03) ? rnd.pick(participantIds) : newParticipant();
              if (inClass.has(participantId)) participantId = newParticipant();
              inClass.add(participantId);
              const declared = homogeneous ? category : rnd.chance(0.25) ? (rnd.chance(0.6) ? rnd.pick(CATEGORIES) : "NO") : null;
              const placed = rnd.chance(0.35) ? rnd.chance(0.6) : null;
              const hire = placed ? addDays(end, rnd.int(1, 120)) : null;
              const vat = placed ? String(rnd.int(1, 9_999_999)).padStart(7, "0") + String(rnd.int(1, 100)).padStart(3, "0") : null;
              insertEnrollment.run(
                classId,
                participantId,
                projectId,
                agencyId,
                campaignYear,
                homogeneous ? 1 : 0,
                declared,
                placed === null ? null : placed ? 1 : 0,
                hire,
                placed ? rnd.pick(CONTRACTS) : null,
                vat ? vat + partitaIvaCheckDigit(vat) : null,
                placed ? rnd.pick(EMPLOYERS) : null,
                declared !== null || placed !== null ? clock.now().getTime() : null,
              );
              written++;
              summary.enrollments++;
            }
          }
        }
      }
    }
    recountPlaced(sqlite, null);
  })();
  return summary;
}

export const DEMO_DATASET: DatasetOptions = { agencies: 3, enrollments: 6000, year: 2019, seed: 2019 };
