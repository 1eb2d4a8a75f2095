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
