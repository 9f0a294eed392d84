// The BPMN modeler page: load the diagram, rename the selected element, deploy; deploy problems marked on elements.
(function () {
  "use strict";
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var source = JSON.parse(document.getElementById("diagram-source").textContent);
  var xml = JSON.parse(document.getElementById("diagram-xml").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var canvasEl = document.getElementById("canvas");
  var status = document.getElementById("status");
  var input = document.getElementById("label-input");
  var problems = document.getElementById("problems");
  var modeler = new BpmnJS({ container: canvasEl, keyboard: { bindTo: document } });
  window.reviewflowModeler = modeler;  // for the browser console and tests
  var selected = null;
  var marked = [];

  modeler.importXML(xml).then(function () {
    var canvas = modeler.get("canvas");
    canvas.zoom("fit-viewport");
    canvas.scroll({ dx: 120, dy: 0 });  // keep the palette from covering the start of the diagram
    canvasEl.dataset.ready = "true";
  }).catch(function (err) {
    status.textContent = String(err && err.message || err);
  });

  modeler.get("eventBus").on("selection.changed", function (event) {
    selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
    var bo = selected && selected.businessObject;
    input.disabled = !bo || selected.type === "label";
    input.value = bo && bo.name || "";
    input.dataset.element = selected ? selected.id : "";
  });
  input.addEventListener("input", function () {
    if (selected) modeler.get("modeling").updateLabel(selected, input.value);
  });

  function clearMarks() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { try { canvas.removeMarker(id, "deploy-error"); } catch (e) { /* gone */ } });
    marked = [];
    problems.hidden = true;
    problems.querySelector("ul").innerHTML = "";
  }

  function showProblems(list) {
    var registry = modeler.get("elementRegistry");
    var canvas = modeler.get("canvas");
    var ul = problems.querySelector("ul");
    list.forEach(function (p) {
      var li = document.createElement("li");
      var where = [p.file, p.element ? texts.element + " " + p.element : null, p.line ? "line " + p.line : null]
        .filter(Boolean).join(", ");
      li.textContent = (where ? where + ": " : "") + p.message;
      var element = p.element && registry.get(p.element);
      if (element) {
        canvas.addMarker(element.id, "deploy-error");
        marked.push(element.id);
        li.dataset.element = element.id;
        li.addEventListener("click", function () {
          modeler.get("selection").select(element);
          canvas.scrollToElement ? canvas.scrollToElement(element) : null;
        });
      }
      ul.appendChild(li);
    });
    problems.hidden = false;
  }

  document.getElementById("deploy").addEventListener("click", function () {
    clearMarks();
    status.textContent = texts.deploying;
    modeler.saveXML({ format: true }).then(function (result) {
      return fetch("/modeler/deploy", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ source: source, xml: result.xml })
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { code: response.status, body: body }; });
    }).then(function (r) {
      if (r.code === 201 || r.code === 200) {
        var link = document.createElement("a");
        link.href = "/definitions?v=" + encodeURIComponent(r.body.key + " v" + r.body.version);
        link.id = "deployed-link";
        link.textContent = (r.code === 201 ? texts.deployed : texts.same) + " " + r.body.key + " v" + r.body.version;
        status.textContent = "";
        status.appendChild(link);
      } else {
        status.textContent = texts.failed + " " + (r.body.detail || "");
        showProblems(r.body.errors && r.body.errors.length ? r.body.errors : [{ message: r.body.detail || r.code }]);
      }
    }).catch(function (err) {
      status.textContent = texts.failed + " " + String(err);
    });
  });
})();
