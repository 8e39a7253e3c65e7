import { formatDate, formatDateTime } from "../../src/format.ts";
import type { DeclarationField } from "../../src/services/declarations.ts";
import { currentVersion, type Enrollment, type HistoryEntry } from "../../src/services/enrollments.ts";
import { flagText, traineeColumn } from "../../src/sheets/columns.ts";
import { TableHead } from "./table-head.tsx";

type CodeList = { code: string; description: string }[];
export type RowContext = { base: string; editable: boolean; categories: CodeList; contractTypes: CodeList };

/** A trainee as read; "Modifica" swaps in the editing row, "Storico" opens its history below. */
export function TraineeRow(props: { line: Enrollment; row: RowContext; saved?: boolean }) {
  const l = props.line;
  return (
    <tr id={`iscrizione-${l.enrollmentId}`} class={props.saved ? "saved" : undefined}>
      <td class="mono">{l.codiceFiscale}</td>
      <td>
        {l.surname} {l.name}
      </td>
      <td>{l.fasciaDebole ?? <span class="muted">da dichiarare</span>}</td>
      <td>{flagText(l.placed)}</td>
      <td>{l.hireDate ? formatDate(l.hireDate) : ""}</td>
      <td>{l.contractType ?? ""}</td>
      <td class="mono">{l.employerVat ?? ""}</td>
      <td>{l.employerName ?? ""}</td>
      <td class="actions">
        {props.row.editable && (
          <button
            type="button"
            class="link"
            hx-get={`${props.row.base}/${l.enrollmentId}/modifica`}
            hx-target="closest tr"
            hx-swap="outerHTML"
          >
            Modifica
          </button>
        )}{" "}
        <button
          type="button"
          class="link history-toggle"
          data-history={`storico-${l.enrollmentId}`}
          hx-get={`${props.row.base}/${l.enrollmentId}/storico`}
          hx-target="closest tr"
          hx-swap="afterend"
        >
          Storico
        </button>
        {props.saved && <span class="badge ok">salvato</span>}
      </td>
    </tr>
  );
}

function Select(props: { name: string; value: string | null; options: { value: string; label: string }[]; label: string }) {
  return (
    <select name={props.name} aria-label={props.label}>
      {props.options.map((o) => (
        <option value={o.value} selected={o.value === (props.value ?? "")}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

/** The same trainee with its editable cells as fields; Esc or "Annulla" puts the row back. */
export function TraineeEditRow(props: { line: Enrollment; row: RowContext; input?: Record<string, string>; errors?: string[] }) {
  const l = props.line;
  // Each field's name and label are its column's: the form and the file say the same.
  const f = (key: DeclarationField) => {
    const column = traineeColumn(key);
    return { name: column.field!, label: column.header };
  };
  const v = (key: DeclarationField, current: string | null) => props.input?.[f(key).name] ?? current ?? "";
  const url = `${props.row.base}/${l.enrollmentId}`;
  return (
    <tr id={`iscrizione-${l.enrollmentId}`} class="editing">
      <td class="mono">{l.codiceFiscale}</td>
      <td>
        {l.surname} {l.name}
        {props.errors && (
          <ul class="field-error" role="alert">
            {props.errors.map((e) => (
              <li>{e}</li>
            ))}
          </ul>
        )}
      </td>
      <td>
        {l.homogeneous ? (
          <span title="Aula omogenea: la categoria non si modifica">{l.classCategory}</span>
        ) : (
          <Select
            {...f("fasciaDebole")}
            value={v("fasciaDebole", l.fasciaDebole)}
            options={[
              { value: "", label: "—" },
              { value: "NO", label: "NO" },
              ...props.row.categories.map((c) => ({ value: c.code, label: c.code })),
            ]}
          />
        )}
      </td>
      <td>
        <Select
          {...f("placed")}
          value={v("placed", flagText(l.placed))}
          options={[
            { value: "", label: "—" },
            { value: "SI", label: "SI" },
            { value: "NO", label: "NO" },
          ]}
        />
      </td>
      <td>
        <input type="date" name={f("hireDate").name} aria-label={f("hireDate").label} value={v("hireDate", l.hireDate)} />
      </td>
      <td>
        <Select
          {...f("contractType")}
          value={v("contractType", l.contractType)}
          options={[{ value: "", label: "—" }, ...props.row.contractTypes.map((c) => ({ value: c.code, label: c.code }))]}
        />
      </td>
      <td>
        <input type="text" name={f("employerVat").name} aria-label={f("employerVat").label} size={11} maxlength={13} value={v("employerVat", l.employerVat)} />
      </td>
      <td>
        <input type="text" name={f("employerName").name} aria-label={f("employerName").label} maxlength={200} value={v("employerName", l.employerName)} />
      </td>
      <td class="actions">
        <input type="hidden" name="versione" value={props.input?.versione ?? currentVersion(l)} />
        <button type="button" hx-post={url} hx-include="closest tr" hx-target="closest tr" hx-swap="outerHTML">
          Salva
        </button>{" "}
        <button type="button" class="link cancel" hx-get={url} hx-target="closest tr" hx-swap="outerHTML">
          Annulla
        </button>
      </td>
    </tr>
  );
}

const SOURCE_LABEL = { upload: "Caricamento", edit: "Modifica dalla pagina", master: "Anagrafiche" } as const;

function historyValue(field: DeclarationField, value: string | null) {
  if (value === null) return <span class="muted">vuoto</span>;
  return field === "hireDate" ? formatDate(value) : value;
}

/** Every change of one trainee's declarations, newest first, under the trainee's row. */
export function TraineeHistoryRow(props: { enrollmentId: number; entries: HistoryEntry[]; columns: number }) {
  return (
    <tr id={`storico-${props.enrollmentId}`} class="history">
      <td colspan={props.columns}>
        <div class="history-head">
          <strong>Storico delle modifiche</strong>{" "}
          <button type="button" class="link history-close">
            Chiudi
          </button>
        </div>
        {props.entries.length === 0 ? (
          <p class="muted">Nessuna modifica: i valori sono quelli iniziali.</p>
        ) : (
          <table>
            <TableHead headings={["Quando", "Chi", "Tramite", "Campo", "Prima", "Dopo"]} />
            <tbody>
              {props.entries.map((e) => (
                <tr>
                  <td>{formatDateTime(new Date(e.at))}</td>
                  <td>{e.by ?? <span class="muted">sistema</span>}</td>
                  <td>
                    {SOURCE_LABEL[e.source]}
                    {e.jobId !== null && ` n. ${e.jobId}`}
                  </td>
                  <td>{traineeColumn(e.field).header}</td>
                  <td>{historyValue(e.field, e.oldValue)}</td>
                  <td>{historyValue(e.field, e.newValue)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </td>
    </tr>
  );
}
