// "In" buttons (door stickers, weekly report): the browser's print dialog. No inline script
// under the Content-Security-Policy, so the button is wired here.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
