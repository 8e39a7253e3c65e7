import type { Child } from "hono/jsx";

/** The campaign year field, as every form shows it; `children` go under the select. */
export function YearField(props: { years: number[]; selected: number | null; children?: Child }) {
  return (
    <label>
      Anno di riferimento{" "}
      <select name="anno">
        {props.years.map((y) => (
          <option value={String(y)} selected={y === props.selected}>
            {y}
          </option>
        ))}
      </select>
      {props.children}
    </label>
  );
}

/** A plain GET form: works without JavaScript. */
export function YearPicker(props: { action: string; years: number[]; selected: number }) {
  return (
    <form method="get" action={props.action} class="year-picker">
      <YearField years={props.years} selected={props.selected} />{" "}
      <button type="submit">Mostra</button>
    </form>
  );
}
