// The task form's draft, saved as the person types (debounced) to PUT /tasks/{id}/draft with the session's CSRF
// token; the outline's "N of M answered" kept up to date. The form works the same without this script.
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form) return;
  var status = document.getElementById("autosave-status");
  var count = document.querySelector("#form-outline [data-answered]");
  var bar = document.querySelector("#form-outline progress");
  var url = form.getAttribute("action") + "/draft";
  var token = (form.querySelector("input[name=csrf_token]") || {}).value || "";
  var timer = null, savedAt = null, dirty = false, busy = false, submitting = false;
  var WAIT = 1200;

  function answered(name) {
    var fields = form.querySelectorAll("[name]");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.name !== name && f.name.indexOf(name + "/") !== 0) continue;
      if (f.type === "radio" || f.type === "checkbox") { if (f.checked) return true; }
      else if (f.type !== "hidden" && f.value && f.value.trim()) return true;
    }
    return false;
  }
  function progress() {
    var items = document.querySelectorAll("#form-outline [data-section]");
    var done = 0;
    items.forEach(function (li) {
      var yes = answered(li.dataset.section);
      li.classList.toggle("done", yes);
      if (yes) done++;
    });
    if (count) count.textContent = String(done);
    if (bar) bar.value = done;
  }
  function say(text) {
    if (!status) return;
    status.hidden = false;
    status.textContent = text;
  }
  function ago() {
    if (!savedAt || !status) return;
    var s = Math.round((Date.now() - savedAt) / 1000);
    if (s < 5) say(status.dataset.now);
    else if (s < 60) say(status.dataset.ago.replace("{n}", String(Math.floor(s / 5) * 5)));
    else say(status.dataset.min.replace("{n}", String(Math.floor(s / 60))));
  }
  function body() {
    var data = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "action" && typeof value === "string") data.append(key, value);
    });
    return data;
  }
  function save(keepalive) {
    if (!dirty || submitting) return;
    if (busy) { schedule(); return; }
    dirty = false; busy = true;
    if (!keepalive) say(status ? status.dataset.saving : "");
    fetch(url, {
      method: "PUT", body: body(), credentials: "same-origin", keepalive: !!keepalive,
      headers: { "X-CSRF-Token": token, "Accept": "application/json" }
    }).then(function (r) {
      busy = false;
      if (!r.ok) throw new Error(String(r.status));
      savedAt = Date.now();
      ago();
    }).catch(function () {
      busy = false; dirty = true;
      say(status ? status.dataset.failed : "");
      schedule(5000);
    });
  }
  function schedule(wait) {
    clearTimeout(timer);
    timer = setTimeout(function () { save(false); }, wait || WAIT);
  }
  function changed() { dirty = true; progress(); schedule(); }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("click", function (e) {  // rows added or removed change the answers too
    if (e.target.closest("[data-remove-row]")) setTimeout(changed, 0);
  });
  form.addEventListener("submit", function () { submitting = true; clearTimeout(timer); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") save(true);
  });
  window.addEventListener("pagehide", function () { save(true); });
  setInterval(ago, 5000);
  progress();
})();
