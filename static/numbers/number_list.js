// The numbers list: the header checkbox ticks every row on the page, the bulk button says
// how many rows are ticked, and the bulk form shows on wide screens and once a row is
// ticked. Bound on the document, so it keeps working after htmx swaps the table in.
const WIDE = window.matchMedia("(min-width: 768px)");

function rowBoxes(form) {
  return Array.from(document.querySelectorAll(`input[name="pk"][form="${form.id}"]`));
}

function showSelection(form) {
  const boxes = rowBoxes(form);
  const ticked = boxes.filter((box) => box.checked).length;
  form.querySelector(".selected-count").textContent = ticked ? ` (${ticked})` : "";
  const pageBox = document.querySelector("input[data-select-page]");
  if (pageBox) {
    pageBox.checked = ticked > 0 && ticked === boxes.length;
    pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  if (ticked) form.closest("details").open = true;
}

function openWhenWide() {
  if (!WIDE.matches) return;
  for (const details of document.querySelectorAll("details[data-open-when-wide]")) {
    details.open = true;
  }
}

document.addEventListener("DOMContentLoaded", openWhenWide);
document.addEventListener("htmx:afterSettle", openWhenWide);

document.addEventListener("change", (event) => {
  const form = document.querySelector("form.bulk-form");
  if (!form) return;
  if (event.target.matches("input[data-select-page]")) {
    for (const box of rowBoxes(form)) box.checked = event.target.checked;
  }
  if (event.target.matches("input[data-select-page], input[name='pk']")) showSelection(form);
});
