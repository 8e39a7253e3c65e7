// Esc leaves the row being edited, as its "Annulla" button does.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const row = event.target instanceof Element ? event.target.closest("tr.editing") : null;
  row?.querySelector("button.cancel")?.click();
});
