// While a cycle is launching, poll its progress and reload once every review has started.
(function () {
  "use strict";
  var box = document.getElementById("launch");
  if (!box || box.dataset.status !== "launching") return;
  var population = parseInt(box.dataset.population || "0", 10);
  function poll() {
    fetch("/cycles/" + box.dataset.cycle + "/progress.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        var n = p.counts.instances;
        document.getElementById("launched").textContent = n;
        document.getElementById("progress-bar").style.width = (population ? 100 * n / population : 0) + "%";
        if (p.status !== "launching") { window.location.reload(); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
