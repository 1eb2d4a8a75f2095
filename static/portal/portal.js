// Portal behaviour that htmx and Bootstrap do not cover. Kept in a static file (no inline
// scripts) so the Content Security Policy can forbid inline script.
document.addEventListener("htmx:responseError", (event) => {
  // A failed swap must not fail silently: say so where the user is looking.
  const target = event.detail.target;
  const alert = document.createElement("div");
  alert.className = "alert alert-danger m-3";
  alert.setAttribute("role", "alert");
  const status = event.detail.xhr.status;
  alert.textContent = status === 503
    ? "The portal cannot reach its database right now. Try again in a minute."
    : `The page could not be updated (HTTP ${status}). Reload to try again.`;
  target.prepend(alert);
});

// Menus (base.html) are <details data-menu>, which open without JavaScript. Here they also
// close on Escape (the innermost one, giving its toggle the focus) and when a click or Tab
// goes outside, and opening one closes the others that do not hold it. A menu whose
// toggle is not shown (the navigation on a wide screen, always open to the eye) is left alone.
const MENUS = "details[data-menu][open]";

function shownMenus() {
  return Array.from(document.querySelectorAll(MENUS)).filter(
    (menu) => menu.querySelector(":scope > summary").getClientRects().length > 0
  );
}

function closeMenusOutside(element) {
  for (const menu of shownMenus()) {
    if (!menu.contains(element)) menu.open = false;
  }
}

document.addEventListener("click", (event) => closeMenusOutside(event.target));
// Tab, not every focus change: a click focuses its target before it lands, and closing a
// menu then would move what the click lands on.
document.addEventListener("keyup", (event) => {
  if (event.key === "Tab") closeMenusOutside(document.activeElement);
});

document.addEventListener("toggle", (event) => {
  const opened = event.target;
  if (!opened.matches || !opened.matches(MENUS)) return;
  for (const menu of shownMenus()) {
    if (!menu.contains(opened)) menu.open = false;
  }
}, true);  // toggle does not bubble

// Listening before anything else does (capture on window: Bootstrap's own listeners capture
// on document): these menus look like Bootstrap dropdowns, and Bootstrap's dropdown script
// would take Escape and the arrow keys in them and fail on a toggle of its own they lack.
window.addEventListener("keydown", (event) => {
  if (!["Escape", "ArrowUp", "ArrowDown"].includes(event.key)) return;
  if (event.target.closest && event.target.closest("details[data-menu]")) {
    event.stopPropagation();
  }
  if (event.key !== "Escape") return;
  const menus = shownMenus();
  const innermost = menus.filter((menu) => menu.contains(event.target)).pop();
  if (innermost) {
    innermost.open = false;
    innermost.querySelector(":scope > summary").focus();
  } else if (menus.length) {
    for (const menu of menus) menu.open = false;
  } else {
    return;
  }
  event.preventDefault();
}, true);

// After htmx swaps in a part of a page, the element marked data-focus-after-swap takes the
// focus (an edit field, or the link that gives the edit back). Not `autofocus`: the browser
// would focus that as soon as it is inserted, before htmx has wired up the new content, and
// a key pressed in that moment would leave the page (a cancel link followed as a plain link).
document.addEventListener("htmx:afterSettle", (event) => {
  const swapped = event.target;
  const field = swapped.matches("[data-focus-after-swap]")
    ? swapped
    : swapped.querySelector("[data-focus-after-swap]");
  if (field) field.focus();
});

// A filter that applies as its select changes (a form whose hx-trigger names "change")
// waits for the choice when the keyboard steps through the choices: on a closed select each
// arrow key (or typed letter) changes the value and fires "change", which would fetch the
// rows of every choice passed on the way. Such a change is held back until Enter, or until
// the focus leaves the select; a choice made with the mouse or in the open list applies at once.
const STEP_KEYS = new Set([
  "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown",
]);
let steppedSelect = null; // the select a key being pressed may change

function appliesOnChange(element) {
  return element instanceof HTMLSelectElement && !element.multiple && element.form !== null
    && /\bchange\b/.test(element.form.getAttribute("hx-trigger") || "");
}

function applyHeldChange(select) {
  delete select.dataset.heldChange;
  select.dispatchEvent(new Event("change", { bubbles: true }));
}

document.addEventListener("keydown", (event) => {
  const select = event.target;
  if (!appliesOnChange(select) || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === "Enter" && select.dataset.heldChange) {
    event.preventDefault();
    applyHeldChange(select);
  } else if (STEP_KEYS.has(event.key) || (event.key.length === 1 && event.key !== " ")) {
    steppedSelect = select;
  }
}, true);

document.addEventListener("keyup", () => {
  steppedSelect = null;
}, true);

document.addEventListener("change", (event) => {
  const select = event.target;
  if (!appliesOnChange(select) || !event.isTrusted) return;
  if (select === steppedSelect) {
    // Captured at the document, before htmx's listeners on the select and its form.
    event.stopImmediatePropagation();
    select.dataset.heldChange = "true";
  } else {
    delete select.dataset.heldChange; // a choice made otherwise applies now, held one too
  }
}, true);

document.addEventListener("focusout", (event) => {
  if (appliesOnChange(event.target) && event.target.dataset.heldChange) {
    applyHeldChange(event.target);
  }
});

// After a filter swaps the table in, the status region of list_page.html says what it
// shows (its row range, or its empty text), as a sighted user sees at a glance.
function describeRows(table) {
  const text = (element) => element.textContent.replace(/\s+/g, " ").trim();
  const range = table.querySelector("[data-testid=row-range]");
  if (range) return `Showing ${text(range)}`;
  const empty = table.querySelector("[data-testid=empty-state], [role=alert]");
  if (empty) return text(empty);
  const rows = table.querySelectorAll("tbody tr");
  if (rows.length === 1 && rows[0].querySelector("td[colspan]")) return text(rows[0]);
  const paged = table.querySelector(".pagination") ? " on this page" : "";
  return `${rows.length} row${rows.length === 1 ? "" : "s"}${paged}`;
}

document.addEventListener("htmx:afterSettle", (event) => {
  const status = document.getElementById("filter-status");
  const table = document.getElementById("table");
  const source = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!status || !table || !source || source.id !== "list-filters") return;
  status.textContent = describeRows(table);
});
