// Fieldkit page script: small, no build step, no inline script (the pages run under a strict
// Content-Security-Policy later). Everything here also works when htmx swaps content in.
(function () {
  "use strict";

  // htmx requests carry the CSRF token from <meta name="csrf-token">.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });

  // Visit form: add and remove assistance lines without a round trip, so it works offline.
  function nextIndex(container) {
    var highest = -1;
    container.querySelectorAll("[name^='lines-']").forEach(function (field) {
      var index = parseInt(field.name.split("-")[1], 10);
      if (index > highest) highest = index;
    });
    return highest + 1;
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-line]");
    if (add) {
      var form = add.closest("form");
      var lines = form.querySelector("#lines");
      var template = form.querySelector("#line-template");
      var html = template.innerHTML.replace(/__i__/g, String(nextIndex(lines)));
      lines.insertAdjacentHTML("beforeend", html);
      var added = lines.lastElementChild;
      var first = added && added.querySelector("select");
      if (first) first.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-line]");
    if (remove) {
      var line = remove.closest("[data-line]");
      var container = line.parentElement;
      if (container.querySelectorAll("[data-line]").length > 1) {
        line.remove();
      } else {
        line.querySelectorAll("select, input[type=text], input:not([type])").forEach(function (f) { f.value = ""; });
      }
    }
  });

  // A submitted form shows it is working and cannot be sent twice by a double tap.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-get")) return;
    var button = form.querySelector("button[type=submit]");
    if (button) {
      if (button.dataset.busy) { event.preventDefault(); return; }
      button.dataset.busy = "1";
      button.setAttribute("aria-busy", "true");
    }
  });
})();
