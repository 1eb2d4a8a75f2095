// The buy dialog (numbers/search.html): once it is shown and its content has loaded, the focus
// goes to the field marked data-focus-when-shown (the label), else to the dialog itself, so
// Escape still closes it. Bootstrap focuses the dialog when its opening transition ends,
// which may come before or after htmx swaps the confirmation in: either event may be the
// last. Not `autofocus`: htmx and the browser would focus the field at once, mid-transition,
// and Bootstrap would take the focus back.
const buyDialog = document.getElementById("buy-dialog");
let buyDialogShown = false;

function focusInBuyDialog() {
  if (!buyDialogShown || buyDialog.classList.contains("htmx-request")) return;
  (buyDialog.querySelector("[data-focus-when-shown]") || buyDialog).focus();
}

buyDialog.addEventListener("shown.bs.modal", () => {
  buyDialogShown = true;
  focusInBuyDialog();
});
buyDialog.addEventListener("hide.bs.modal", () => {
  buyDialogShown = false;
});
buyDialog.addEventListener("htmx:afterSettle", focusInBuyDialog);
