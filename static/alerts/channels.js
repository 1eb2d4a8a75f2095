// The signing-secret page (templates/alerts/channel_secret.html): a Copy button beside the
// secret. Without JavaScript the button stays hidden and the field can be selected and
// copied by hand.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const field = document.getElementById(button.dataset.copy);
    const status = document.getElementById("copy-status");
    if (!field || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        status.textContent = "Copied.";
      } catch {
        status.textContent = "The browser did not allow copying: select the secret and copy it.";
      }
    });
  }
});
