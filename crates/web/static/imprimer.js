// The « Imprimer » button of the printable documents (mandate, revocation attestation): it
// opens the browser's print dialog. A file, not an inline script, so the CSP stays strict. The
// button is hidden in the page and shown here: without JavaScript the page says to use the
// browser's own print command instead, and print.css lays the sheet out either way.
for (const button of document.querySelectorAll('button[data-imprimer]')) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}
for (const hint of document.querySelectorAll('[data-sans-script]')) {
  hint.hidden = true;
}
