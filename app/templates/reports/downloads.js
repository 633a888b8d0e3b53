// Downloads page: a slow format (PDF, Word, Excel of a big event) is fetched in the
// background with a live "preparing… N s" message, so the page never looks frozen.
// Without JavaScript the links still work as plain downloads.
(function () {
  "use strict";
  function start(link, status) {
    var began = Date.now();
    var label = status.dataset.preparing;
    link.setAttribute("aria-busy", "true");
    status.hidden = false;
    status.textContent = label;
    var timer = setInterval(function () {
      status.textContent = label + " " + Math.round((Date.now() - began) / 1000) + " s";
    }, 1000);
    fetch(link.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
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
