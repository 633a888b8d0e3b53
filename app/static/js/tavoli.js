// Tavoli's only script besides htmx, loaded from 'self' under a strict CSP (no inline code).
// It applies this phone's own state to shared fragments, ticks timers, and wires shortcuts.
(function () {
  "use strict";

  // --- This phone's own cards and votes -------------------------------------------------
  function markMine() {
    var me = document.body.dataset.me;
    if (!me) return;
    // Co-authors of merged duplicates count as authors too.
    var cards = document.querySelectorAll('.card[data-authors~="' + me + '"]');
    for (var i = 0; i < cards.length; i++) cards[i].classList.add("mine");
  }

  // Pushed cards are the same for everyone; #me holds this phone's votes and dots left.
  function applyMyVotes() {
    var me = document.getElementById("me");
    if (!me) return;
    var votes = {};
    try { votes = JSON.parse(me.dataset.votes || "{}"); } catch (e) { votes = {}; }
    var left = me.dataset.left === "" ? null : parseInt(me.dataset.left, 10);
    var cap = parseInt(me.dataset.cap || "1", 10);
    var boxes = document.querySelectorAll(".vote[data-proposal]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var mine = votes[box.dataset.proposal] || 0;
      var toggle = box.querySelector('[data-role="toggle"]');
      if (toggle) {
        toggle.value = mine ? "0" : "1";
        box.querySelector("button").setAttribute("aria-pressed", mine ? "true" : "false");
        continue;
      }
      var minus = box.querySelector('[data-role="minus"]');
      var plus = box.querySelector('[data-role="plus"]');
      minus.value = String(mine - 1);
      plus.value = String(mine + 1);
      minus.form.querySelector("button").disabled = mine <= 0;
      plus.form.querySelector("button").disabled = mine >= cap || (left !== null && left <= 0);
      box.querySelector(".my-dots strong").textContent = String(mine);
    }
  }

  // --- Timers: the server says how many seconds were left; count down from there ----------
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var timers = document.querySelectorAll("[data-timer-left]");
    var now = Date.now();
    for (var i = 0; i < timers.length; i++) {
      var t = timers[i];
      if (!t.dataset.t0) t.dataset.t0 = String(now);
      var left = Math.max(0, Math.round(parseInt(t.dataset.timerLeft, 10) - (now - parseInt(t.dataset.t0, 10)) / 1000));
      var value = t.querySelector(".timer-value");
      if (value) value.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
      t.classList.toggle("timer-ending", left > 0 && left <= 60);
      t.classList.toggle("timer-over", left === 0);
    }
  }

  // --- The projector prints where to go; without a configured address, it is this one ------
  function fillJoinHost() {
    var hosts = document.querySelectorAll(".join-host");
    for (var i = 0; i < hosts.length; i++) if (!hosts[i].textContent.trim()) hosts[i].textContent = location.host;
  }

  function refresh() { markMine(); applyMyVotes(); fillJoinHost(); tick(); }

  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    window.setInterval(tick, 1000);
  });
  document.addEventListener("htmx:wsAfterMessage", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:oobAfterSwap", refresh);

  // This phone's own fragments carry the table's seq when they were read: an answer that
  // was read before the one already shown (a refresh racing a vote) must not undo it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (!target || !incoming || !target.dataset.seq || !incoming.dataset || !incoming.dataset.seq) return;
    if (parseInt(incoming.dataset.seq, 10) < parseInt(target.dataset.seq, 10)) event.detail.shouldSwap = false;
    else target.dataset.seq = incoming.dataset.seq;  // innerHTML swaps keep the old element
  });

  // --- Connection state --------------------------------------------------------------------
  function setOnline(online) { document.body.classList.toggle("offline", !online); }
  document.addEventListener("htmx:wsOpen", function () { setOnline(true); });
  document.addEventListener("htmx:wsClose", function () { setOnline(false); });
  document.addEventListener("htmx:wsError", function () { setOnline(false); });

  // A new request clears the previous message; errors stay until then.
  document.addEventListener("htmx:beforeRequest", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = "";
  });
  // After a merge, clear the selection that was merged.
  document.addEventListener("tavoli:merged", function () {
    var boxes = document.querySelectorAll('input[name="proposal_ids"][form="bulk"]:checked');
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = false;
    var panel = document.getElementById("merge-panel");
    if (panel) panel.innerHTML = "";
  });

  // --- Console: keyboard shortcuts and their help ----------------------------------------
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  // A key pressed while the previous action is still on its way waits for it: that answer
  // redraws the buttons, and a click on a button being replaced would be lost.
  var inFlight = 0;
  var waiting = [];
  function press(key) {
    var button = document.querySelector('[data-shortcut="' + key + '"]:not([disabled])');
    if (button) button.click();
  }
  // Counted on the request itself: htmx's own events fire on the form, which the answer
  // may already have replaced (then they never reach the document).
  document.addEventListener("htmx:beforeRequest", function (event) {
    inFlight += 1;
    event.detail.xhr.addEventListener("loadend", function () {
      inFlight = Math.max(0, inFlight - 1);
      if (inFlight === 0 && waiting.length) {
        window.setTimeout(function () { press(waiting.shift()); }, 60);  // after it settles
      }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (!document.body.classList.contains("console") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === "?") {
      var help = document.getElementById("help");
      if (help && !help.open) { help.showModal(); event.preventDefault(); }
      return;
    }
    if (!document.querySelector('[data-shortcut="' + key + '"]')) return;
    event.preventDefault();
    if (inFlight > 0 || waiting.length) waiting.push(key);
    else press(key);
  });
  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "help-open") {
      var help = document.getElementById("help");
      if (help) help.showModal();
    }
  });
})();
