// Copy buttons for the subscribe addresses. The addresses stay selectable without it.
"use strict";
for (const button of document.querySelectorAll("button.copy[data-copy]")) {
  const input = document.getElementById(button.dataset.copy);
  if (!input || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(input.value).then(
      () => { button.textContent = "Copied"; },
      () => { input.select(); },
    );
  });
}
