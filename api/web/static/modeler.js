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
  // bpmn-js speaks English; on a Chinese page its palette, context pad and menus speak Chinese (its translate service).
  var ZH = {
    "Activate hand tool": "启用抓手工具", "Activate lasso tool": "启用套索工具",
    "Activate create/remove space tool": "启用插入/删除空间工具", "Activate global connect tool": "启用全局连线工具",
    "Create start event": "创建开始事件", "Create intermediate/boundary event": "创建中间/边界事件",
    "Create end event": "创建结束事件", "Create gateway": "创建网关", "Create task": "创建任务",
    "Create data object reference": "创建数据对象引用", "Create data store reference": "创建数据存储引用",
    "Create expanded sub-process": "创建展开的子流程", "Create pool/participant": "创建池/参与者",
    "Create group": "创建分组", "Search in diagram": "在流程图中搜索", "Delete": "删除",
    "Append task": "追加任务", "Append end event": "追加结束事件", "Append gateway": "追加网关",
    "Append intermediate/boundary event": "追加中间/边界事件", "Append text annotation": "追加文本注释",
    "Add text annotation": "添加文本注释", "Append receive task": "追加接收任务",
    "Append message intermediate catch event": "追加消息中间捕获事件",
    "Append timer intermediate catch event": "追加定时器中间捕获事件",
    "Append conditional intermediate catch event": "追加条件中间捕获事件",
    "Append signal intermediate catch event": "追加信号中间捕获事件",
    "Append compensation activity": "追加补偿活动", "Change element": "更改元素类型", "Change type": "更改类型",
    "Connect using sequence/message flow or association": "用顺序流/消息流或关联连接",
    "Connect to other element": "连接到其他元素", "Connect using association": "用关联连接",
    "Connect using data input association": "用数据输入关联连接", "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道", "Divide into two lanes": "拆分为两条泳道",
    "Divide into three lanes": "拆分为三条泳道", "Open element documentation": "打开元素文档",
    "Toggle non-interrupting": "切换非中断", "Align elements": "对齐元素", "Open {element}": "打开 {element}"
  };
  function translate(template, replacements) {
    var text = ZH[template] || template;
    return text.replace(/{([^}]+)}/g, function (_, key) { return (replacements || {})[key] || "{" + key + "}"; });
  }
  var zh = document.documentElement.lang === "zh-CN";
  var modeler = new BpmnJS({
    container: canvasEl,
    keyboard: { bindTo: document },
    additionalModules: zh ? [{ translate: ["value", translate] }] : []
  });
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
