// Esc leaves the row being edited, as its "Annulla" button does.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const row = event.target instanceof Element ? event.target.closest("tr.editing") : null;
  row?.querySelector("button.cancel")?.click();
});

// "Storico" opens a trainee's history below the row; pressed again, or "Chiudi", it closes.
// In the capture phase, so that an open history is closed before htmx asks for it again.
document.addEventListener(
  "click",
  (event) => {
    const button = event.target instanceof Element ? event.target.closest("button.history-toggle, button.history-close") : null;
    if (!button) return;
    if (button.classList.contains("history-close")) {
      button.closest("tr")?.remove();
      return;
    }
    const open = document.getElementById(button.dataset.history ?? "");
    if (open) {
      open.remove();
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
