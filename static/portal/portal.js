// Portal behaviour that htmx and Bootstrap do not cover. Kept in a static file (no inline
// scripts) so the Content Security Policy can forbid inline script.
document.addEventListener("htmx:responseError", (event) => {
  // A failed swap must not fail silently: say so where the user is looking.
  const target = event.detail.target;
  const alert = document.createElement("div");
  alert.className = "alert alert-danger m-3";
  alert.setAttribute("role", "alert");
  alert.textContent = `The page could not be updated (HTTP ${event.detail.xhr.status}). Reload to try again.`;
  target.prepend(alert);
});
