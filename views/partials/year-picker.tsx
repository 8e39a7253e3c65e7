/** A plain GET form: works without JavaScript. */
export function YearPicker(props: { action: string; years: number[]; selected: number }) {
  return (
    <form method="get" action={props.action} class="year-picker">
      <label>
        Anno di riferimento{" "}
        <select name="anno">
          {props.years.map((y) => (
            <option value={String(y)} selected={y === props.selected}>
              {y}
            </option>
          ))}
        </select>
      </label>{" "}
      <button type="submit">Mostra</button>
    </form>
  );
}
