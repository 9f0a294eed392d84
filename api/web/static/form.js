// Add and remove rows of array fields (goals, nominees…). Row indices may have gaps; the server renumbers them.
(function () {
  "use strict";
  function refresh(fieldset) {
    var max = parseInt(fieldset.dataset.max || "0", 10);
    var rows = fieldset.querySelectorAll(":scope > .rows > [data-row]").length;
    var add = fieldset.querySelector(":scope > [data-add-row]");
    if (add) add.disabled = max > 0 && rows >= max;
  }
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var fieldset = add.closest("fieldset.array");
      var template = fieldset.querySelector(":scope > template");
      var rows = fieldset.querySelector(":scope > .rows");
      var next = parseInt(fieldset.dataset.next || String(rows.children.length), 10);
      fieldset.dataset.next = String(next + 1);
      var html = template.innerHTML.split("__i__").join(String(next));
      rows.insertAdjacentHTML("beforeend", html);
      var first = rows.lastElementChild.querySelector("input, textarea, select");
      if (first) first.focus();
      refresh(fieldset);
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var set = remove.closest("fieldset.array");
      remove.closest("[data-row]").remove();
      refresh(set);
    }
  });
  document.querySelectorAll("fieldset.array").forEach(refresh);
})();
