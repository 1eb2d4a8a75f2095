// A number's page: Escape in an inline edit form cancels it, as its Cancel link does (the
// link fetches the read-only view back with htmx, or reloads the page without it).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest && event.target.closest("form[data-escape-cancels]");
  const cancel = form && form.querySelector("[data-cancel]");
  if (!cancel) return;
  event.preventDefault();
  cancel.click();
});
