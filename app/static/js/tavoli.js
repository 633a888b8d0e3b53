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

  // The cards this phone disagrees with ("Non sono d'accordo"), from #me likewise: the shared
  // card is the same for every phone, the mark is this phone's own.
  function markDissent() {
    var me = document.getElementById("me");
    if (!me) return;
    var ids = [];
    try { ids = JSON.parse(me.dataset.dissent || "[]"); } catch (e) { ids = []; }
    var mine = {};
    for (var j = 0; j < ids.length; j++) mine["p-" + ids[j]] = true;
    var cards = document.querySelectorAll(".card[id^='p-']");
    for (var i = 0; i < cards.length; i++) cards[i].classList.toggle("dissented", !!mine[cards[i].id]);
  }

  // A button about to be disabled while it has the focus hands it to its partner (+ to −):
  // a disabled button drops the focus to the page, and a keyboard or screen reader user
  // would lose their place on the wall.
  function disable(button, off, partner) {
    if (off && document.activeElement === button && !partner.disabled) partner.focus({ preventScroll: true });
    button.disabled = off;
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
      // Each form says the count it was sent from: a tab left behind by another one gets
      // 409 and the fresh state instead of moving a count it did not show.
      var shown = box.querySelectorAll('[data-role="shown"]');
      for (var k = 0; k < shown.length; k++) shown[k].value = String(mine);
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
      var less = minus.form.querySelector("button"), more = plus.form.querySelector("button");
      disable(less, mine <= 0, more);
      disable(more, mine >= cap || (left !== null && left <= 0), less);
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
    sayTimer();
  }

  // --- "The screen on my phone": the countdown said at whole minutes and at the end ---------
  // The timer itself is silent (role=timer); #mirror-timer-said, a polite live region outside
  // what the push draws, says "3 minutes left" when a whole minute is reached and "Time is up"
  // at zero (or when the push that ends the timer comes first). A timer seen for the first
  // time, or extended, is not said. Nothing here moves the focus.
  var saidMinutes = null;  // whole minutes left as last said (null: no countdown seen)
  var lastLeft = null;
  function say(region, text) {
    region.textContent = "";
    region.textContent = text;
  }
  function sayTimer() {
    var region = document.getElementById("mirror-timer-said");
    if (!region) return;
    var timer = document.querySelector(".mirror-head [data-timer-left]");
    if (!timer) {
      // Ended by the push before this page counted down to zero (its end not said yet).
      if (saidMinutes && lastLeft !== null && lastLeft <= 2) say(region, region.dataset.over);
      saidMinutes = null;
      lastLeft = null;
      return;
    }
    var t0 = parseInt(timer.dataset.t0 || String(Date.now()), 10);
    var left = Math.max(0, Math.round(parseInt(timer.dataset.timerLeft, 10) - (Date.now() - t0) / 1000));
    var minutes = Math.ceil(left / 60);
    if (saidMinutes !== null && minutes < saidMinutes) {
      if (minutes === 0) say(region, region.dataset.over);
      else say(region, minutes === 1 ? region.dataset.one : region.dataset.many.replace("{n}", String(minutes)));
    }
    saidMinutes = minutes;
    lastLeft = left;
  }

  // --- The projector prints where to go; without a configured address, it is this one ------
  function fillJoinHost() {
    var hosts = document.querySelectorAll(".join-host");
    for (var i = 0; i < hosts.length; i++) if (!hosts[i].textContent.trim()) hosts[i].textContent = location.host;
  }

  function refresh() { markMine(); markDissent(); applyMyVotes(); fillJoinHost(); tick(); fitSoon(); sayNewPosts(); applyOrder(false); }

  // --- "The screen on my phone": a post that comes onto the wall is said, politely ---------
  // Whatever push brought it (posted, accepted from the moderator's queue, restored, or
  // several while the phone was offline), a post on the mirror's wall that was not there
  // before is said in #mirror-news from its data-say; the page as first loaded is not said.
  var knownPosts = null;
  function sayNewPosts() {
    var region = document.getElementById("mirror-news");
    if (!region) return;
    var items = document.querySelectorAll("#mirror-wall [data-post]");
    var seen = {}, fresh = [];
    for (var i = 0; i < items.length; i++) {
      seen[items[i].dataset.post] = true;
      if (knownPosts && !knownPosts[items[i].dataset.post]) fresh.push(items[i]);
    }
    knownPosts = seen;
    if (!fresh.length) return;
    fresh.sort(function (a, b) { return parseInt(b.dataset.number, 10) - parseInt(a.dataset.number, 10); });
    var text = fresh.length === 1
      ? region.dataset.one.replace("{post}", fresh[0].dataset.say)
      : region.dataset.many.replace("{count}", String(fresh.length)).replace("{post}", fresh[0].dataset.say);
    var line = document.createElement("p");
    line.textContent = text;
    region.replaceChildren(line);
  }

  // A push swaps many fragments (one event each): the projector is measured once for all of
  // them, before the next frame is painted, so a card of another page never shows.
  var fitPending = false;
  function fitSoon() {
    if (fitPending || !document.body.classList.contains("screen")) return;
    fitPending = true;
    window.requestAnimationFrame(function () { fitPending = false; fitScreen(); });
  }

  // --- Questions and answers: the list re-sorts, never under the thumb ----------------------
  // Every push carries the open questions' order (#wall-order). It is applied when the person
  // has not touched or scrolled the page for a moment, with the card they were reading kept
  // where it was; meanwhile "New questions" (#new-order) offers it at a tap. A push that
  // redraws the wall while they touch it keeps the order they see (holdOrder).
  var ORDER_IDLE_MS = 1500;
  var touching = false;
  var lastTouch = 0;
  var ownScroll = false;
  function busy() { return touching || Date.now() - lastTouch < ORDER_IDLE_MS; }
  // The phone's and console's open questions (cards "p-N"), or the projector's board
  // ("screen-q-N", data-order-prefix), which is fitted again after it re-sorts.
  function openList() { return document.getElementById("cards-open") || document.querySelector(".qa-top"); }
  function orderPrefix(list) { return list.getAttribute("data-order-prefix") || "p-"; }
  function wantedOrder() {
    var el = document.getElementById("wall-order");
    return el && el.dataset.order ? el.dataset.order.split(",") : null;
  }
  function shownOrder(list) {
    var ids = [];
    var prefix = orderPrefix(list);
    for (var i = 0; i < list.children.length; i++) {
      var id = list.children[i].id;
      if (id && id.indexOf(prefix) === 0) ids.push(id.slice(prefix.length));
    }
    return ids;
  }
  function sameOrder(shown, wanted) {
    var at = {};
    for (var i = 0; i < wanted.length; i++) at[wanted[i]] = i;
    var last = -1;
    for (var j = 0; j < shown.length; j++) {
      var place = at[shown[j]];
      if (place === undefined) continue;
      if (place < last) return false;
      last = place;
    }
    return true;
  }
  function showNewOrder(show) {
    var button = document.getElementById("new-order");
    if (button && button.hidden === show) button.hidden = !show;
  }
  function firstInView(list) {
    for (var i = 0; i < list.children.length; i++) {
      var box = list.children[i].getBoundingClientRect();
      if (box.bottom > 0) return list.children[i];
    }
    return null;
  }
  function reorder(list, ids) {
    var prefix = orderPrefix(list);
    for (var i = 0; i < ids.length; i++) {
      var card = document.getElementById(prefix + ids[i]);
      if (card && card.parentNode === list) list.appendChild(card);
    }
    fitSoon();
  }
  function applyOrder(force) {
    var list = openList();
    var wanted = wantedOrder();
    if (!list || !wanted) return;
    if (sameOrder(shownOrder(list), wanted)) { showNewOrder(false); return; }
    if (!force && busy()) { showNewOrder(true); return; }
    var anchor = force ? null : firstInView(list);
    var before = anchor ? anchor.getBoundingClientRect().top : 0;
    reorder(list, wanted);
    showNewOrder(false);
    var moved = anchor ? anchor.getBoundingClientRect().top - before : 0;
    if (moved) { ownScroll = true; window.scrollBy(0, moved); }
    if (force) {
      var section = list.closest(".group") || list;
      ownScroll = true;
      section.scrollIntoView({ block: "start" });
      var first = list.querySelector(".card");
      if (first) {
        first.setAttribute("tabindex", "-1");
        first.focus({ preventScroll: true });
      }
    }
  }
  var held = null;  // the order shown when a redraw of the wall began under a thumb
  function holdOrder(event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "wall" || !openList() || !busy()) { held = null; return; }
    held = shownOrder(openList());
  }
  function keepHeld(event) {
    var target = event.detail && event.detail.target;
    if (!held || !target || target.id !== "wall") return;
    var list = openList();
    if (list) reorder(list, held.concat(shownOrder(list).filter(function (id) { return held.indexOf(id) < 0; })));
    held = null;
    applyOrder(false);
  }
  document.addEventListener("htmx:oobBeforeSwap", holdOrder);
  document.addEventListener("htmx:oobAfterSwap", keepHeld);
  document.addEventListener("touchstart", function () { touching = true; lastTouch = Date.now(); }, { passive: true });
  document.addEventListener("touchmove", function () { lastTouch = Date.now(); }, { passive: true });
  function untouch() { touching = false; lastTouch = Date.now(); }
  document.addEventListener("touchend", untouch, { passive: true });
  document.addEventListener("touchcancel", untouch, { passive: true });
  document.addEventListener("pointerdown", function (event) { if (event.pointerType !== "touch") lastTouch = Date.now(); });
  window.addEventListener("scroll", function () {
    if (ownScroll) { ownScroll = false; return; }
    lastTouch = Date.now();
  }, { passive: true });
  document.addEventListener("click", function (event) {
    if (event.target && event.target.closest && event.target.closest("#new-order")) applyOrder(true);
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("wall-order")) return;
    window.setInterval(function () { if (!busy()) applyOrder(false); }, 500);
  });

  // --- The projector: what is shown fits the screen ------------------------------------------
  // Titles and texts take the room they need. What would overflow is scaled down in steps
  // (classes fit-1 to fit-10 set --fit, in tavoli.css); the results past what fits under the
  // first five are pages that turn by themselves ("pagina 2 di 3").
  var FIT_STEPS = 10;
  var PAGE_SECONDS = 8;
  var TIME_UP_SECONDS = 10;
  var resultsPage = 0;
  var resultsPages = 1;
  var timeUpAt = 0;

  function setFit(el, step) {
    for (var i = 1; i <= FIT_STEPS; i++) el.classList.toggle("fit-" + i, i === step);
  }
  function overflows(el) { return el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1; }
  function fitDown(el, fits) {
    var step = 0;
    setFit(el, 0);
    while (step < FIT_STEPS && !fits()) setFit(el, ++step);
  }

  // --- The projector's wall: pages, never a post hidden -------------------------------------
  // Titles keep their size (2.6vh at least, tavoli.css); the cards flow down the columns and
  // what does not fit goes to the next page. The pages are measured here, after every push
  // (the push draws the wall; this only hides the cards of the other pages): a page is the
  // cards from its first one up to the last whose box is inside the wall. A group going on
  // from the previous page shows its title again, marked "continued". The pages turn every
  // data-page-seconds (0: paused); the moderator's turns (data-turns, a running sum) move
  // the page by the difference from the last sum seen, and start the count again.
  var TITLE_SIZES = ["title-big", "title-mid", ""];  // classes of .wall-screen, largest first
  var wallPage = 0;
  var wallPages = 1;
  var wallTurns = null;  // the moderator's running sum as last seen (null: not yet)
  var wallShownAt = Date.now();

  function wallGroups(wall) {
    var groups = wall.querySelectorAll(".group");
    var result = [];
    for (var i = 0; i < groups.length; i++) {
      result.push({ title: groups[i].querySelector(".group-title"), cards: groups[i].querySelectorAll(".card") });
    }
    return result;
  }
  // Show the cards from `start` on (in reading order) and each group's title when one of its
  // shown cards is there; the title of a group begun before `start` says "continued".
  function showFrom(groups, cards, start, end) {
    for (var i = 0; i < cards.length; i++) cards[i].hidden = i < start || i >= end;
    for (var g = 0; g < groups.length; g++) {
      var group = groups[g], shown = false, first = true;
      for (var k = 0; k < group.cards.length; k++) {
        if (!group.cards[k].hidden) { shown = true; break; }
        first = false;
      }
      if (!group.title) continue;
      group.title.hidden = !shown;
      group.title.classList.toggle("continued", shown && !first);
    }
  }
  function paginate(wall, groups, cards) {
    var frame = wall.getBoundingClientRect();
    var start = 0, pages = 0;
    while (start < cards.length) {
      showFrom(groups, cards, start, cards.length);
      var end = start + 1;  // at least one card a page
      while (end < cards.length && inside(cards[end], frame)) end++;
      for (var i = start; i < end; i++) cards[i].dataset.page = String(pages);
      pages++;
      start = end;
    }
    return Math.max(1, pages);
  }
  function pageWall(area) {
    var wall = area.querySelector(".wall-screen");
    if (!wall) return;
    var groups = wallGroups(wall);
    var cards = wall.querySelectorAll(".card");
    // Measured once per drawing of the wall and size of the screen: a push that redraws the
    // wall morphs data-paged away; one that only patches tallies (placed beside the kind, so
    // no card changes height) leaves the pages as they are.
    var screenSize = window.innerWidth + "x" + window.innerHeight;
    if (wall.dataset.paged !== screenSize) {
      measureWall(wall, groups, cards);
      wall.dataset.paged = screenSize;
    }
    var turns = parseInt(area.dataset.turns || "0", 10);
    if (wallTurns === null) wallPage = turns;  // a screen opened now: the moderator's page
    else if (turns !== wallTurns) { wallPage += turns - wallTurns; wallShownAt = Date.now(); }
    wallTurns = turns;
    wallPage = ((wallPage % wallPages) + wallPages) % wallPages;
    showWallPage(area, groups, cards);
  }
  function measureWall(wall, groups, cards) {
    // The largest titles that keep every card on one page; the smallest size pages instead.
    var size = 0;
    for (; size < TITLE_SIZES.length; size++) {
      for (var t = 0; t < TITLE_SIZES.length; t++) if (TITLE_SIZES[t]) wall.classList.toggle(TITLE_SIZES[t], t === size);
      if (size === TITLE_SIZES.length - 1) break;
      if (size === 0 && cards.length > 8) continue;  // the largest for a few posts only
      showFrom(groups, cards, 0, cards.length);
      var last = cards[cards.length - 1];
      if (!last || inside(last, wall.getBoundingClientRect())) break;
    }
    wallPages = paginate(wall, groups, cards);
  }
  function showWallPage(area, groups, cards) {
    var start = -1, end = cards.length;
    for (var i = 0; i < cards.length; i++) {
      var page = parseInt(cards[i].dataset.page, 10);
      if (page === wallPage && start < 0) start = i;
      if (page > wallPage) { end = i; break; }
    }
    showFrom(groups, cards, Math.max(start, 0), end);
    var pager = document.querySelector(".screen .wall-pager");
    if (!pager) return;
    pager.hidden = wallPages < 2;
    var label = pager.querySelector(".wall-page-of");
    if (label) label.textContent = String(wallPage + 1) + "/" + String(wallPages);
  }
  function turnWallPage() {
    var area = document.querySelector(".screen .screen-wall");
    if (!area || wallPages < 2) return;
    var seconds = parseInt(area.dataset.pageSeconds || "0", 10);
    if (!seconds || Date.now() - wallShownAt < seconds * 1000) return;
    wallPage = (wallPage + 1) % wallPages;
    wallShownAt = Date.now();
    var wall = area.querySelector(".wall-screen");
    showWallPage(area, wallGroups(wall), wall.querySelectorAll(".card"));
  }

  function inside(el, box) {
    var r = el.getBoundingClientRect();
    return r.right <= box.right + 1 && r.bottom <= box.bottom + 1 && r.left >= box.left - 1;
  }
  function fitResults(section) {
    var top = section.querySelector(".result-top");
    if (!top) { resultsPages = 1; return; }  // hidden, or nothing posted: no pages to turn
    var rest = section.querySelector(".result-rest");
    var rows = rest ? rest.querySelectorAll(".result") : [];
    var i;
    for (i = 0; i < rows.length; i++) rows[i].hidden = true;  // the first five alone, first
    var bottom = section.getBoundingClientRect().bottom - parseFloat(getComputedStyle(section).paddingBottom);
    var share = rows.length ? 0.6 : 1;  // leave the rest room for a few rows at least
    fitDown(top, function () {
      var box = top.getBoundingClientRect();
      return box.height <= (bottom - box.top) * share;
    });
    // Pages: as many rows as the columns hold, measured; at least one row a page.
    var pages = 0;
    if (rows.length) {
      var frame = rest.getBoundingClientRect();
      var start = 0;
      while (start < rows.length) {
        for (i = 0; i < rows.length; i++) rows[i].hidden = i < start;
        var end = start + 1;
        while (end < rows.length && inside(rows[end], frame)) end++;
        for (i = start; i < end; i++) rows[i].dataset.page = String(pages);
        pages++;
        start = end;
      }
    }
    resultsPages = Math.max(1, pages);
    showResultsPage(section);
  }
  function showResultsPage(section) {
    if (resultsPage >= resultsPages) resultsPage = 0;
    var rows = section.querySelectorAll(".result-rest .result");
    for (var i = 0; i < rows.length; i++) rows[i].hidden = rows[i].dataset.page !== String(resultsPage);
    var pager = section.querySelector(".results-page");
    if (!pager) return;
    pager.hidden = resultsPages < 2;
    pager.textContent = (pager.dataset.pattern || "{page}/{pages}")
      .replace("{page}", String(resultsPage + 1)).replace("{pages}", String(resultsPages));
  }
  function turnResultsPage() {
    var section = document.querySelector(".screen .results");
    if (!section || resultsPages < 2) return;
    resultsPage = (resultsPage + 1) % resultsPages;
    showResultsPage(section);
  }

  // A countdown seen here reached zero: "Time is up" stays a few seconds over the phase.
  function markTimeUp() {
    var big = document.querySelector(".screen .big-timer");
    if (!big) return;
    var running = big.querySelector(".timer-huge");
    if (running) {  // its end may be drawn by the server's push before the last tick here
      var t0 = parseInt(running.dataset.t0 || String(Date.now()), 10);
      var left = parseInt(running.dataset.timerLeft, 10) - (Date.now() - t0) / 1000;
      timeUpAt = left <= 1.5 ? timeUpAt || Date.now() : 0;
    }
    big.classList.toggle("just-over", !running && timeUpAt > 0 && Date.now() - timeUpAt < TIME_UP_SECONDS * 1000);
  }

  // The projector's questions: as many as fit whole, most supported first; the rest counted.
  function fitQuestions(board) {
    var items = board.querySelectorAll(".qa-item");
    var list = board.querySelector(".qa-top");
    var more = board.querySelector(".qa-more");
    if (!list) return;
    for (var i = 0; i < items.length; i++) items[i].hidden = false;
    if (more) more.hidden = true;
    var bottom = list.getBoundingClientRect().bottom;
    var hidden = 0;
    for (var j = 0; j < items.length; j++) {
      if (hidden || items[j].getBoundingClientRect().bottom > bottom + 1) { items[j].hidden = true; hidden++; }
    }
    if (hidden && more) {
      more.hidden = false;
      more.textContent = (more.dataset.pattern || "{n}").replace("{n}", String(hidden));
      // The line now takes room from the list: one more question may have to go.
      bottom = list.getBoundingClientRect().bottom;
      for (var k = items.length - 1; k >= 0; k--) {
        if (!items[k].hidden && items[k].getBoundingClientRect().bottom > bottom + 1) {
          items[k].hidden = true;
          more.textContent = (more.dataset.pattern || "{n}").replace("{n}", String(++hidden));
        }
      }
    }
  }

  function fitScreen() {
    if (!document.body.classList.contains("screen")) return;
    var board = document.querySelector(".qa-board");
    if (board) fitQuestions(board);
    var wall = document.querySelector(".screen-wall");
    if (wall) pageWall(wall);
    var spot = document.querySelector(".spotlight");
    if (spot) fitDown(spot, function () { return !overflows(spot); });
    var results = document.querySelector(".results");
    if (results) fitResults(results);
    markTimeUp();
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.body.classList.contains("screen")) return;
    window.setInterval(turnResultsPage, PAGE_SECONDS * 1000);
    window.setInterval(turnWallPage, 250);  // each page stays its data-page-seconds
    window.setInterval(markTimeUp, 1000);  // after tick, which marks timer-over
    var pending = 0;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(fitScreen, 150);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    window.setInterval(tick, 1000);
  });
  document.addEventListener("htmx:wsAfterMessage", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:oobAfterSwap", refresh);

  // This phone's own fragments (#me, dots left, its posts) carry the seq they were read at:
  // one read before the one already shown (a refresh racing a vote) must not undo it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (!target || !incoming || !target.dataset.seq || !incoming.dataset || !incoming.dataset.seq) return;
    if (parseInt(incoming.dataset.seq, 10) < parseInt(target.dataset.seq, 10)) event.detail.shouldSwap = false;
    else target.dataset.seq = incoming.dataset.seq;  // innerHTML swaps keep the old element
  });

  // --- Live regions are morphed: what is being typed survives a push -----------------------
  // A push draws the shared regions (the console's live region, the wall, the projector's
  // stage) and idiomorph morphs them (hx-swap-oob="morph"): the elements stay, so the focus,
  // the caret and a button being pressed survive. A field changed here and not yet sent keeps
  // its value (the push moves only its default, what the form resets to); a focused field's
  // caret is idiomorph's to keep. hx-preserve fields (architecture.md) are htmx's.
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
  function isField(node) {
    return node.nodeType === 1 && /^(INPUT|TEXTAREA|SELECT)$/.test(node.tagName) && node.type !== "hidden";
  }
  var typedHere = new Map();  // field -> what was typed, while a morph passes over it
  var checkedHere = new Map();  // radio buttons: put back once the whole morph is done
  function forgetTyped() { typedHere.clear(); checkedHere.clear(); }
  function putCheckedBack() {
    checkedHere.forEach(function (checked, radio) { if (checked) radio.checked = true; });
    checkedHere.clear();
    var limited = document.querySelectorAll("[data-limit][data-counter]");  // counted afresh
    for (var i = 0; i < limited.length; i++) if (changedHere(limited[i])) updateCounter(limited[i]);
  }
  document.addEventListener("htmx:beforeSwap", forgetTyped);
  document.addEventListener("htmx:oobBeforeSwap", forgetTyped);
  document.addEventListener("htmx:afterSwap", putCheckedBack);
  document.addEventListener("htmx:oobAfterSwap", putCheckedBack);
  function keepTyped(oldNode) {
    if (!isField(oldNode) || typedHere.has(oldNode) || checkedHere.has(oldNode)) return true;
    if (oldNode.type === "radio") {
      // A group at once, and after the morph: the morph of one button unchecks the others.
      var group = oldNode.form ? oldNode.form.querySelectorAll('input[type=radio][name="' + oldNode.name + '"]') : [oldNode];
      var moved = false;
      for (var g = 0; g < group.length; g++) if (changedHere(group[g])) moved = true;
      for (var h = 0; moved && h < group.length; h++) checkedHere.set(group[h], group[h].checked);
      return true;
    }
    if (!changedHere(oldNode)) return true;
    var chosen = [];
    if (oldNode.tagName === "SELECT") {
      for (var i = 0; i < oldNode.options.length; i++) if (oldNode.options[i].selected) chosen.push(oldNode.options[i].value);
    }
    typedHere.set(oldNode, { value: oldNode.value, checked: oldNode.checked, chosen: chosen });
    return true;
  }
  function putTypedBack(oldNode) {
    var kept = typedHere.get(oldNode);
    if (!kept) return;
    typedHere.delete(oldNode);
    if (oldNode.type === "checkbox") { oldNode.checked = kept.checked; return; }
    if (oldNode.tagName === "SELECT") {
      for (var i = 0; i < oldNode.options.length; i++) oldNode.options[i].selected = kept.chosen.indexOf(oldNode.options[i].value) >= 0;
      if (oldNode.selectedIndex < 0) oldNode.selectedIndex = 0;  // its option is gone
      return;
    }
    if (oldNode.value !== kept.value) oldNode.value = kept.value;
  }
  // A block opened here (a paper participant's, a card's edit) stays open.
  function keepOpen(name, element, how) {
    return !(name === "open" && how === "remove" && element.tagName === "DETAILS");
  }
  if (window.Idiomorph) {  // loaded before this script (both deferred, in order)
    Idiomorph.defaults.callbacks.beforeNodeMorphed = keepTyped;
    Idiomorph.defaults.callbacks.afterNodeMorphed = putTypedBack;
    Idiomorph.defaults.callbacks.beforeAttributeUpdated = keepOpen;
  }

  // --- An answer gives the sent form back fresh ---------------------------------------------
  // On the console the push draws the region a form is in, and the answer is the moderator's
  // own; the phone's post form is morphed into its answer. On success, the fields sent go back
  // to their defaults, the answer's or the push's (the new tag's name empties, a ballot's
  // numbers show what the push says). What was typed into a field after its request left (the
  // next post, on a slow link) is not the answer's to empty; hx-preserve fields keep theirs.
  function stateOf(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked ? "on" : "";
    if (field.tagName === "SELECT") {
      var chosen = [];
      for (var i = 0; i < field.options.length; i++) if (field.options[i].selected) chosen.push(field.options[i].value);
      return chosen.join("\n");
    }
    return field.value;
  }
  function freshForm(form) {
    var sent = [];
    var fields = form.elements;
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (isField(field) && !field.closest("[hx-preserve], [data-hx-preserve]")) sent.push([field, stateOf(field)]);
    }
    return function () {
      for (var j = 0; j < sent.length; j++) {
        var field = sent[j][0];
        if (!field.isConnected || stateOf(field) !== sent[j][1]) continue;
        if (field.type === "checkbox" || field.type === "radio") field.checked = field.defaultChecked;
        else if (field.tagName === "SELECT") {
          for (var k = 0; k < field.options.length; k++) field.options[k].selected = field.options[k].defaultSelected;
        } else field.value = field.defaultValue;
        if (field.dataset.limit) updateCounter(field);
      }
    };
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var form = elt && (elt.tagName === "FORM" ? elt : elt.form);
    var xhr = event.detail.xhr;
    var swap = form && form.getAttribute("hx-swap");
    if (!xhr || (swap !== "none" && swap !== "morph")) return;  // the others: a region redrawn
    // A phone's votes keep their fields; its disagreement form empties and folds once sent.
    var dissent = form.classList.contains("dissent-form");
    if (swap === "none" && !dissent && !document.body.classList.contains("console")) return;
    var reset = freshForm(form);
    var fold = dissent ? form.closest("details") : null;
    xhr.addEventListener("load", function () {
      if (xhr.status < 200 || xhr.status >= 300) return;
      reset();
      if (fold) fold.open = false;
    });
  });

  // --- Connection state --------------------------------------------------------------------
  // The message goes into the live region (announced) while the socket is down, and leaves
  // it once reconnected: an empty region shows nothing.
  function setOnline(online) {
    document.body.classList.toggle("offline", !online);
    var region = document.getElementById("connection");
    if (!region) return;
    if (online) { region.textContent = ""; return; }
    if (region.firstChild) return;  // already said: a retry's failure does not repeat it
    var lost = document.createElement("span");
    lost.className = "connection-lost";
    lost.textContent = region.dataset.lost || "";
    region.appendChild(lost);
  }
  document.addEventListener("htmx:wsOpen", function () { setOnline(true); });
  document.addEventListener("htmx:wsClose", function () { setOnline(false); });
  document.addEventListener("htmx:wsError", function () { setOnline(false); });

  // A new request clears the previous message; errors stay until then.
  document.addEventListener("htmx:beforeRequest", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = "";
  });
  // After a merge or a tag given or taken away, clear the selection it was done to.
  function clearSelection() {
    var boxes = document.querySelectorAll('input[name="proposal_ids"][form="bulk"]:checked');
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = false;
  }
  document.addEventListener("tavoli:selection-done", clearSelection);
  document.addEventListener("tavoli:merged", function () {
    clearSelection();
    var panel = document.getElementById("merge-panel");
    if (panel) panel.innerHTML = "";
  });

  // --- Console: panels open in view; a removal clears its panel; success notes fade ----------
  // The merge and removal panels are swapped in above the wall: the moderator clicked far
  // below them, so bring each new one into view (once) and put the focus in it.
  // A push that redraws the wall just after can move the panel again: for a moment after
  // it opened, it is brought back into view if it left it (later, the moderator scrolls).
  var PANEL_SETTLE_MS = 2000;
  function showPanels() {
    var ids = ["merge-panel", "remove-panel", "link-panel"];
    for (var i = 0; i < ids.length; i++) {
      var panel = document.getElementById(ids[i]);
      if (!panel || !panel.firstElementChild) continue;
      if (!panel.dataset.shown) {
        panel.dataset.shown = String(Date.now());
        panel.scrollIntoView({ block: "start" });
        var first = panel.querySelector("input:not([type=hidden]), button");
        if (first) first.focus({ preventScroll: true });
      } else if (Date.now() - Number(panel.dataset.shown) < PANEL_SETTLE_MS) {
        var box = panel.getBoundingClientRect();
        if (box.top < 0 || box.top > window.innerHeight - 40) panel.scrollIntoView({ block: "start" });
      }
    }
  }
  document.addEventListener("htmx:afterSettle", showPanels);
  document.addEventListener("tavoli:removed", function () {
    var panel = document.getElementById("remove-panel");
    if (panel) { panel.innerHTML = ""; delete panel.dataset.shown; }
  });
  // A link saved (or a pledge withdrawn) closes its panel: the card shows it once pushed.
  document.addEventListener("tavoli:linked", function () {
    var panel = document.getElementById("link-panel");
    if (panel) { panel.innerHTML = ""; delete panel.dataset.shown; }
  });
  // A success note leaves on its own; an error stays until the next request replaces it.
  document.addEventListener("htmx:afterSettle", function () {
    var ok = document.querySelector("#flash .flash-ok");
    if (!ok || ok.dataset.timed) return;
    ok.dataset.timed = "1";
    window.setTimeout(function () { if (ok.isConnected) ok.remove(); }, 6000);
  });
  // The note floats over the page's foot: a click on it puts it away, so that it never
  // stands between the pointer and a button under it. (Keyboard focus is not blocked.)
  document.addEventListener("click", function (event) {
    var note = event.target && event.target.closest && event.target.closest("#flash .flash-message");
    if (note) note.remove();
  });

  // --- Phone: a vote tapped twice counts once ------------------------------------------------
  // A vote carries the state it asks for (dots), so a repeated request changes nothing; but
  // once the first answer has flipped the button, a second tap would ask for the opposite.
  // So a support button ignores taps while its request is on its way and for a moment after.
  // (A dot's + and − do not: a second + means one more dot, and htmx queues it until the
  // first answer has set what + asks for next.) Keyed by the form's action, not by the
  // element: a push may redraw the card in between. The quiet moment outlasts the slowest
  // double tap (Android waits 300 ms for the second tap, iOS about 350) with room for a busy
  // phone; a deliberate change of mind comes later than that.
  var VOTE_QUIET_MS = 700;
  var voteGuards = {};
  function voteKey(form) {
    if (!form || !form.querySelector || !form.querySelector('[data-role="toggle"]')) return null;
    return form.getAttribute("hx-post");
  }
  function voteButton(form) { return form.querySelector("button"); }
  document.addEventListener("htmx:confirm", function (event) {
    var key = voteKey(event.detail.elt);
    if (!key) return;
    var guard = voteGuards[key];
    if (guard && (guard.busy || Date.now() < guard.until)) event.preventDefault();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    var key = voteKey(form);
    if (!key) return;
    var guard = voteGuards[key] = { busy: true, until: 0 };
    var id = voteButton(form) && voteButton(form).id;
    if (id) document.getElementById(id).setAttribute("aria-busy", "true");
    event.detail.xhr.addEventListener("loadend", function () {
      guard.busy = false;
      guard.until = Date.now() + VOTE_QUIET_MS;
      var button = id && document.getElementById(id);
      if (button) button.removeAttribute("aria-busy");
    });
  });

  // --- Phone: a tap that does not reach the server says so, and can be sent again ----------
  // Watched on the request itself (htmx's events would not reach the document from a form a
  // push has replaced). The values sent are kept, so "Try again" sends the same thing: a
  // vote's target state, not its opposite.
  var failed = null;
  var resending = false;  // the next attempt is a re-send made by itself
  function retryBanner() { return document.getElementById("retry"); }
  function showRetry(show, online) {
    var banner = retryBanner();
    if (!banner) return;
    banner.hidden = !show;
    var heading = banner.querySelector("strong");  // what the live region says changes
    if (heading) heading.textContent = heading.dataset[online ? "online" : "offline"] || "";
  }
  function sentValues(form) {
    var values = [];
    for (var i = 0; i < form.elements.length; i++) {
      var field = form.elements[i];
      if (field.type === "hidden" && field.name) values.push([field.name, field.value]);
    }
    return values;
  }
  function attemptOf(event) {
    var elt = event.detail.elt;
    var submitter = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent &&
      event.detail.requestConfig.triggeringEvent.submitter;
    return {
      form: elt,
      id: elt.id || (voteButton(elt) && voteButton(elt).id) || "",
      values: sentValues(elt),
      submitter: submitter || null,
    };
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var xhr = event.detail.xhr;
    if (!retryBanner() || !elt || elt.tagName !== "FORM") return;
    var attempt = attemptOf(event);
    attempt.resent = resending;
    resending = false;
    function lost() { failed = attempt; showRetry(true); }
    xhr.addEventListener("error", lost);
    xhr.addEventListener("timeout", lost);
    xhr.addEventListener("load", function () {
      if (xhr.status >= 500) lost();
      else if (failed === attempt || failed === null) { failed = null; showRetry(false); }
    });
  });
  function resend(attempt) {
    var form = attempt.form;
    if (!form.isConnected && attempt.id) {  // redrawn by a push meanwhile: its new copy
      var current = document.getElementById(attempt.id);
      form = current && (current.tagName === "FORM" ? current : current.form);
    }
    if (!form || !form.isConnected) return;
    for (var i = 0; i < attempt.values.length; i++) {
      var field = form.elements.namedItem(attempt.values[i][0]);
      if (field && field.type === "hidden") field.value = attempt.values[i][1];
    }
    var key = voteKey(form);
    if (key) delete voteGuards[key];
    var submitter = attempt.submitter && attempt.submitter.isConnected ? attempt.submitter : undefined;
    if (form.requestSubmit) form.requestSubmit(submitter);
    else htmx.trigger(form, "submit");
  }
  function retry() {
    var attempt = failed;
    showRetry(false);
    if (!attempt) return;
    failed = null;
    resend(attempt);
  }
  document.addEventListener("click", function (event) {
    if (event.target && event.target.closest && event.target.closest("#retry-button")) retry();
  });
  // Back online (the socket reconnected, or the browser says the network is back): a vote
  // that failed for the network is sent again, once, by itself. It names the state it asks
  // for, so a copy that did arrive changes nothing. A post or an edit is not sent behind the
  // person's back (it could be there twice): the banner now says it was not recorded, and
  // "Try again" sends it. The vote waits a moment: the reconnect's snapshot redraws the wall
  // first, and a tap on "Try again" meanwhile is the one sent.
  var ONLINE_SETTLE_MS = 1000;
  function backOnline() {
    var attempt = failed;
    if (!attempt) return;
    var vote = /\/vote$/.test(attempt.form.getAttribute("hx-post") || "");
    if (!vote || attempt.resent) { showRetry(true, true); return; }
    window.setTimeout(function () {
      if (failed !== attempt) return;  // sent by hand meanwhile
      resending = true;
      retry();
    }, ONLINE_SETTLE_MS);
  }
  document.addEventListener("htmx:wsOpen", backOnline);
  window.addEventListener("online", backOnline);

  // --- Phone: refused for going too fast (429): wait as told, then send it again ----------
  // A 429 changed nothing, so the same request is sent again by itself once the Retry-After
  // seconds have passed (the join form, a post, a vote), with a countdown in #wait meanwhile;
  // a page refused so reloads. The longest wait shown is an hour (the longest window).
  var WAIT_MAX_S = 3600;
  var waitTimer = null;
  var waitEnd = 0;
  var refusedForms = [];  // the requests refused meanwhile, one per form: all go at the end
  function countDown(seconds, then) {
    var banner = document.getElementById("wait");
    if (!banner) return;
    var until = Date.now() + Math.min(Math.max(seconds, 1), WAIT_MAX_S) * 1000;
    var end = waitEnd = Math.max(waitEnd, until);
    var said = banner.querySelector("[role=status]");
    var shown = banner.querySelector(".wait-text");
    function text(left) { return (banner.dataset.text || "").replace("%s", String(left)); }
    function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left > 0) { shown.textContent = text(left); return; }
      window.clearInterval(waitTimer);
      waitTimer = null;
      waitEnd = 0;
      banner.hidden = true;
      said.textContent = "";
      then();
    }
    window.clearInterval(waitTimer);
    banner.hidden = false;
    said.textContent = text(Math.ceil((end - Date.now()) / 1000));  // heard once
    tick();
    waitTimer = window.setInterval(tick, 1000);
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var xhr = event.detail.xhr;
    if (!document.getElementById("wait") || !elt || elt.tagName !== "FORM") return;
    var attempt = attemptOf(event);
    xhr.addEventListener("load", function () {
      if (xhr.status !== 429) return;
      var flash = document.getElementById("flash");  // the countdown says it, and updates
      if (flash) flash.textContent = "";
      refusedForms = refusedForms.filter(function (other) {
        return other.id !== attempt.id || !attempt.id;
      });
      refusedForms.push(attempt);
      countDown(parseInt(xhr.getResponseHeader("Retry-After"), 10) || 5, function () {
        var again = refusedForms;
        refusedForms = [];
        for (var i = 0; i < again.length; i++) resend(again[i]);
      });
    });
  });
  var waitPage = document.getElementById("wait");
  if (waitPage && waitPage.dataset.reload) {
    countDown(parseInt(waitPage.dataset.reload, 10) || 5, function () { window.location.reload(); });
  }

  // --- Phone: characters left in a text field ----------------------------------------------
  // The limit is the services' (data-limit, rendered by the server); the text is counted as
  // the server will store it (NFC, a title's spaces collapsed), in characters, not UTF-16
  // units. Nothing is cut: past the limit the counter turns red and the post is held back.
  function counted(field) {
    var text = (field.value || "").normalize ? field.value.normalize("NFC") : field.value;
    text = field.tagName === "TEXTAREA" ? text.trim() : text.replace(/\s+/g, " ").trim();
    return Array.from(text).length;
  }
  function overBy(field) { return counted(field) - parseInt(field.dataset.limit, 10); }
  function updateCounter(field) {
    var counter = document.getElementById(field.dataset.counter);
    if (!counter) return;
    var over = overBy(field);
    counter.textContent = over > 0
      ? counter.dataset.over.replace("{n}", String(over))
      : counter.dataset.left.replace("{n}", String(-over));
    counter.classList.toggle("counter-over", over > 0);
    if (over > 0) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field && field.dataset && field.dataset.limit) updateCounter(field);
  });
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (!form || form.tagName !== "FORM") return;
    var fields = form.querySelectorAll("[data-limit]");
    for (var i = 0; i < fields.length; i++) {
      var over = overBy(fields[i]);
      if (over <= 0) continue;
      event.preventDefault();
      updateCounter(fields[i]);
      var flash = document.getElementById("flash");
      if (flash) {
        var message = document.createElement("p");
        message.className = "flash-message flash-error";
        message.textContent = fields[i].dataset.error.replace("{n}", String(over));
        flash.replaceChildren(message);
      }
      fields[i].focus();
      return;
    }
  });

  // --- Console: keyboard shortcuts and their help ----------------------------------------
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  // A key clicks its button at once: the push morphs the buttons in place, so a click that
  // lands while it draws is not lost.
  function press(key) {
    var button = document.querySelector('[data-shortcut="' + key + '"]:not([disabled])');
    if (button) button.click();
  }
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
    press(key);
  });
  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "help-open") {
      var help = document.getElementById("help");
      if (help) help.showModal();
    }
  });
})();
