// The auditor's diagram: the path taken in green (timestamps on hover), steps waiting now in amber.
(function () {
  "use strict";
  var script = document.getElementById("viewer-script");
  var taken = JSON.parse(document.getElementById("path-data").textContent);
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var canvasEl = document.getElementById("canvas");
  var tip = document.getElementById("hover-tip");
  var viewer = new BpmnJS({ container: canvasEl });

  function when(iso) { return iso ? iso.replace("T", " ").slice(0, 19) + " UTC" : ""; }

  fetch(script.dataset.xml, { credentials: "same-origin" }).then(function (r) { return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      registry.forEach(function (el) {
        if (el.type === "label") return;
        if (taken.completed[el.id]) canvas.addMarker(el.id, "path-taken");
        else if (taken.open[el.id]) canvas.addMarker(el.id, "path-open");
        if (el.waypoints && el.source && el.target && taken.completed[el.source.id] &&
            (taken.completed[el.target.id] || taken.open[el.target.id])) {
          canvas.addMarker(el.id, "path-taken");
        }
      });
      var bus = viewer.get("eventBus");
      bus.on("element.hover", function (e) {
        var done = taken.completed[e.element.id];
        var open = taken.open[e.element.id];
        if (!done && !open) { tip.style.display = "none"; return; }
        var name = (e.element.businessObject && e.element.businessObject.name) || e.element.id;
        tip.textContent = name + " — " + (done
          ? texts.completed + " " + done.times.map(when).join(", ")
          : texts.waiting + " " + when(open));
        tip.style.display = "block";
      });
      bus.on("element.out", function () { tip.style.display = "none"; });
      canvasEl.addEventListener("mousemove", function (e) {
        tip.style.left = (e.clientX + 14) + "px";
        tip.style.top = (e.clientY + 14) + "px";
      });
      canvasEl.dataset.ready = "true";
    }).catch(function (err) { canvasEl.textContent = String(err && err.message || err); });
})();
