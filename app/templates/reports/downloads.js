// Downloads page: a slow format (PDF, Word, Excel of a big event) is fetched in the
// background with a live "preparing… N s" message, so the page never looks frozen.
// The server makes such files in a queue: while one is being made it answers 202 with the
// place to ask again (Location) and when (Retry-After), and 503 with Retry-After when its
// queue is full; both are waited out here, a few minutes at most.
// Without JavaScript the links still work: the 202 page reloads itself until the file comes.
(function () {
  "use strict";
  var MAX_TRIES = 120;
  function later(response) {
    var seconds = parseInt(response.headers.get("retry-after"), 10);
    return Math.min(Math.max(isNaN(seconds) ? 2 : seconds, 1), 30) * 1000;
  }
  function fetchFile(url, tries) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      var again = response.status === 202 || (response.status === 503 && response.headers.has("retry-after"));
      if (!again || tries >= MAX_TRIES) { return response; }
      var next = response.status === 202 ? (response.headers.get("location") || url) : url;
      return new Promise(function (resolve) { setTimeout(resolve, later(response)); })
        .then(function () { return fetchFile(next, tries + 1); });
    });
  }
  function start(link, status) {
    var began = Date.now();
    var label = status.dataset.preparing;
    link.setAttribute("aria-busy", "true");
    status.hidden = false;
    status.textContent = label;
    var timer = setInterval(function () {
      status.textContent = label + " " + Math.round((Date.now() - began) / 1000) + " s";
    }, 1000);
    fetchFile(link.href, 0)
      .then(function (response) {
        if (response.status !== 200) { throw new Error(String(response.status)); }
        var disposition = response.headers.get("content-disposition") || "";
        var match = /filename="([^"]+)"/.exec(disposition);
        return response.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var save = document.createElement("a");
          save.href = url;
          save.download = match ? match[1] : "";
          document.body.appendChild(save);
          save.click();
          save.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
          status.textContent = status.dataset.ready;
        });
      })
      .catch(function () { status.textContent = status.dataset.failed; })
      .finally(function () {
        clearInterval(timer);
        link.removeAttribute("aria-busy");
      });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-slow]");
    var status = document.getElementById("download-status");
    if (!link || !status || !window.fetch || event.ctrlKey || event.metaKey) { return; }
    event.preventDefault();
    if (link.getAttribute("aria-busy") !== "true") { start(link, status); }
  });
})();
