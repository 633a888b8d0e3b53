// A "copy" button for a link shown on the page (the facilitator link). No inline script:
// the button names what it copies (data-copy, a selector) and is shown only where the
// clipboard can be written; without it, the link stays there to select by hand.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      if (!navigator.clipboard || !window.isSecureContext) continue;
      button.hidden = false;
      button.addEventListener("click", copy);
    }
  });
  function copy(event) {
    var button = event.currentTarget;
    var source = document.querySelector(button.dataset.copy);
    var status = button.parentNode.querySelector(".copy-status");
    function say(text) { if (status) status.textContent = text; }
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () { say(button.dataset.copied || ""); },
      function () { say(button.dataset.failed || ""); }
    );
  }
})();
