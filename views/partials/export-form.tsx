import { PostForm } from "./forms.tsx";
import { YearField } from "./year-picker.tsx";

export type ExportFormValues = { trainingTypes: string[]; year: number | null; extraEmail: string; format: "xlsx" | "csv"; agencyIds: number[] };
export type ExportFormErrors = Partial<Record<"trainingTypes" | "year" | "extraEmail" | "format" | "agencies" | "form", string>>;

function FieldError(props: { message?: string; id: string }) {
  return props.message ? (
    <span class="field-error" id={props.id} role="alert">
      {props.message}
    </span>
  ) : null;
}

export type ExportFormProps = {
  csrfToken: string;
  trainingTypes: { code: string; description: string }[];
  years: number[];
  values: ExportFormValues;
  errors: ExportFormErrors;
  booked?: number;
  /** The fund's form: its file of every agency's data, for the agencies chosen (none: all). */
  fund?: { agencies: { id: number; code: string; name: string }[] };
};

export function ExportForm(props: ExportFormProps) {
  const { values, errors } = props;
  return (
    <PostForm
      class="card booking"
      action={props.fund ? "/fondo/dati-acquisiti" : "/placement/prenotazioni"}
      section="#export-section"
      csrfToken={props.csrfToken}
      submit={props.fund ? "Prenota i dati acquisiti" : "Prenota il download"}
      busy="Invio…"
    >
      <h2>{props.fund ? "Dati acquisiti" : "Prenota il download"}</h2>
      {props.fund ? (
        <p class="muted">
          Un file con un'iscrizione per riga di tutte le agenzie scelte (nessuna scelta: tutte), per l'anno e le tipologie
          scelte: fascia debole effettiva, dati di placement, minimo della tipologia e chi ha modificato ogni riga e quando.
          Si può prenotare in ogni momento, anche prima dell'apertura o dopo la scadenza. Quando è pronto ne ricevi avviso per
          e-mail, con l'eventuale indirizzo aggiuntivo.
        </p>
      ) : (
        <p class="muted">
          Il file contiene un allievo per riga per i progetti dell'agenzia dell'anno e delle tipologie scelte. Quando è
          pronto ne ricevono avviso per e-mail il Responsabile Politiche Attive, i Referenti abilitati al Placement e
          l'eventuale indirizzo aggiuntivo.
        </p>
      )}
      {props.booked && (
        <p class="notice info" role="status">
          Prenotazione n. {props.booked} registrata: la vedi qui sotto mentre viene preparata.
        </p>
      )}
      {errors.form && (
        <p class="notice error" role="alert">
          {errors.form}
        </p>
      )}
      {props.fund && (
        <label>
          Agenzie (nessuna scelta: tutte; Ctrl o ⌘ per sceglierne più di una)
          <select name="agenzie" multiple size={Math.min(8, props.fund.agencies.length)} aria-describedby={errors.agencies ? "err-agencies" : undefined}>
            {props.fund.agencies.map((a) => (
              <option value={String(a.id)} selected={values.agencyIds.includes(a.id)}>
                {a.code} · {a.name}
              </option>
            ))}
          </select>
          <FieldError id="err-agencies" message={errors.agencies} />
        </label>
      )}
      <fieldset aria-describedby={errors.trainingTypes ? "err-types" : undefined}>
        <legend>Tipologie formative</legend>
        <div class="checks">
          {props.trainingTypes.map((t) => (
            <label class="check">
              <input type="checkbox" name="tipologie" value={t.code} checked={values.trainingTypes.includes(t.code)} />{" "}
              {t.description} <span class="muted">({t.code})</span>
            </label>
          ))}
        </div>
        <FieldError id="err-types" message={errors.trainingTypes} />
      </fieldset>
      <div class="row">
        <YearField years={props.years} selected={values.year}>
          <FieldError id="err-year" message={errors.year} />
        </YearField>
        <label>
          E-mail aggiuntiva (facoltativa)
          <input type="email" name="email" value={values.extraEmail} autocomplete="email" />
          <FieldError id="err-email" message={errors.extraEmail} />
        </label>
        <fieldset>
          <legend>Formato</legend>
          <label class="check">
            <input type="radio" name="formato" value="xlsx" checked={values.format === "xlsx"} /> Excel (.xlsx)
          </label>
          <label class="check">
            <input type="radio" name="formato" value="csv" checked={values.format === "csv"} /> CSV (separato da ;)
          </label>
          <FieldError id="err-format" message={errors.format} />
        </fieldset>
      </div>
    </PostForm>
  );
}
