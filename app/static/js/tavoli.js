// Tavoli's only script besides htmx: marks this phone's own cards and shows the connection state.
// Loaded from 'self' under a strict CSP; no inline handlers.
(function () {
  "use strict";

  function markMine(root) {
    var me = document.body.dataset.me;
    if (!me) return;
    var cards = (root || document).querySelectorAll('.card[data-author="' + me + '"]');
    for (var i = 0; i < cards.length; i++) cards[i].classList.add("mine");
  }

  function setOnline(online) {
    document.body.classList.toggle("offline", !online);
  }

  document.addEventListener("DOMContentLoaded", function () { markMine(document); });
  document.addEventListener("htmx:wsAfterMessage", function () { markMine(document); });
  document.addEventListener("htmx:wsOpen", function () { setOnline(true); });
  document.addEventListener("htmx:wsClose", function () { setOnline(false); });
  document.addEventListener("htmx:wsError", function () { setOnline(false); });

  // A new request clears the previous message; errors stay until then.
  document.addEventListener("htmx:beforeRequest", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = "";
  });
})();
