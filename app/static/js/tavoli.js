// Tavoli's only script besides htmx, loaded from 'self' under a strict CSP (no inline code).
// It applies this phone's own state to shared fragments, ticks timers, and wires shortcuts.
(function () {
  "use strict";

  // --- This phone's own cards and votes -------------------------------------------------
  // Shared cards say nothing about who wrote them: #me (this phone's own state) lists the
  // ids of its cards, co-authored survivors of merges included.
  function markMine() {
    var me = document.getElementById("me");
    if (!me) return;
    var ids = [];
    try { ids = JSON.parse(me.dataset.mine || "[]"); } catch (e) { ids = []; }
    var mine = {};
    for (var j = 0; j < ids.length; j++) mine["p-" + ids[j]] = true;
    var cards = document.querySelectorAll(".card[id^='p-']");
    for (var i = 0; i < cards.length; i++) cards[i].classList.toggle("mine", !!mine[cards[i].id]);
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

  // --- An answer whose target a push has already replaced -----------------------------------
  // A console action answers with #console-live, and its push redraws #console-live too. When
  // the push comes first, the region the request aimed at has left the page. htmx would still
  // take the page's hx-preserve fields (synthesis, facilitator, selection, edit blocks) out to
  // carry them into the answer, find no parent to put the answer in, and drop them: gone until
  // the next push, and a save would then send them empty. Aim the answer at the element that
  // now has the target's id instead; if that one shows a later seq, the answer is stale.
  function aimAtCurrent(event) {
    var detail = event.detail;
    var target = detail.target;
    if (!target || target.isConnected || !target.id) return;
    var current = document.getElementById(target.id);
    if (!current) return;
    detail.target = current;
    if (!detail.shouldSwap || !current.dataset.seq) return;
    var parsed = document.createElement("template");
    parsed.innerHTML = typeof detail.serverResponse === "string" ? detail.serverResponse : "";
    var incoming = parsed.content.getElementById(target.id);
    if (incoming && incoming.dataset.seq &&
        parseInt(incoming.dataset.seq, 10) < parseInt(current.dataset.seq, 10)) {
      detail.shouldSwap = false;
    }
  }
  // Listened to on the target itself: once it has left the page, its events no longer reach
  // the document. (The same function is added once, however many requests aim there.)
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id) target.addEventListener("htmx:beforeSwap", aimAtCurrent);
    target.addEventListener("htmx:beforeSwap", keepTyped);  // after aimAtCurrent
  });

  // --- Redraws keep what is being typed in the fields without hx-preserve --------------------
  // hx-preserve keeps the old element, which suits the fields listed in architecture.md; the
  // others (new tag, timer minutes, paper participants, the bulk action's tag) must take a
  // redraw's options and their form's fresh state after its own answer. So a redraw carries
  // over only what was changed here and not yet sent, and the focus and caret.
  function changedHere(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      for (var i = 0; i < field.options.length; i++) {
        if (field.options[i].selected !== field.options[i].defaultSelected) return true;
      }
      return false;
    }
    return field.value !== field.defaultValue;
  }
  function typedIn(root, sent) {  // sent: the ids of the fields the request sent
    var kept = [];
    var opened = root.querySelectorAll("details[id][open]");  // e.g. a paper participant's
    for (var j = 0; j < opened.length; j++) {
      if (!opened[j].closest("[hx-preserve], [data-hx-preserve]")) kept.push({ id: opened[j].id, tag: "DETAILS" });
    }
    var fields = root.querySelectorAll("input[id], textarea[id], select[id]");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden" || field.closest("[hx-preserve], [data-hx-preserve]")) continue;
      if (sent && sent[field.id]) continue;  // its answer resets it (a push may have moved it)
      var focused = field === document.activeElement;
      if (!focused && !changedHere(field)) continue;
      var caret = null;
      try { caret = [field.selectionStart, field.selectionEnd]; } catch (e) { caret = null; }
      kept.push({ id: field.id, tag: field.tagName, type: field.type, value: field.value,
                  checked: field.checked, focused: focused, caret: caret });
    }
    return kept;
  }
  function putBack(kept) {
    for (var i = 0; i < kept.length; i++) {
      var k = kept[i];
      var field = document.getElementById(k.id);
      if (!field || field.tagName !== k.tag) continue;
      if (k.tag === "DETAILS") { field.open = true; continue; }
      if (field.type !== k.type) continue;
      var moved = false;
      if (k.type === "checkbox" || k.type === "radio") field.checked = k.checked;
      else if (field.value !== k.value) {
        field.value = k.value;
        moved = true;
        if (k.tag === "SELECT" && field.value !== k.value) field.selectedIndex = 0;  // option gone
      }
      if (!k.focused) continue;
      if (document.activeElement !== field) { field.focus({ preventScroll: true }); moved = true; }
      if (moved && k.caret && k.caret[0] !== null) {
        try { field.setSelectionRange(k.caret[0], k.caret[1]); } catch (e) { /* no caret here */ }
      }
    }
  }
  // Pushes (out-of-band swaps): the same details object reaches oobAfterSwap.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.shouldSwap && target && target.querySelectorAll) event.detail.tavoliTyped = typedIn(target, null);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var kept = event.detail.tavoliTyped;
    if (!kept) return;
    delete event.detail.tavoliTyped;
    putBack(kept);
  });
  // Answers: beforeSwap is heard on the target (above), afterSwap on the new content; the
  // request's xhr is the object both details share.
  function keepTyped(event) {
    var detail = event.detail;
    if (!detail.shouldSwap || !detail.target || !detail.xhr) return;
    var elt = detail.requestConfig && detail.requestConfig.elt;
    var form = elt && (elt.form || (elt.closest && elt.closest("form")));
    var sent = {};
    var fields = form ? form.elements : [];
    for (var i = 0; i < fields.length; i++) if (fields[i].id) sent[fields[i].id] = true;
    if (elt && elt.id) sent[elt.id] = true;
    detail.xhr.tavoliTyped = typedIn(detail.target, sent);
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || !xhr.tavoliTyped) return;
    var kept = xhr.tavoliTyped;
    delete xhr.tavoliTyped;
    putBack(kept);
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
