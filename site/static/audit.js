// Audit page filters: rule, severity and collection, over data attributes of the static table rows.
(function () {
  "use strict";
  var form = document.getElementById("audit-filters");
  var table = document.getElementById("audit-table");
  var count = document.getElementById("audit-count");
  if (!form || !table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);

  function apply() {
    var rule = form.rule.value, severity = form.severity.value, collection = form.collection.value;
    var shown = 0;
    rows.forEach(function (tr) {
      var ok = (!rule || tr.getAttribute("data-rule") === rule) &&
        (!severity || tr.getAttribute("data-severity") === severity) &&
        (!collection || tr.getAttribute("data-collections").split("\n").indexOf(collection) >= 0);
      tr.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown === rows.length ? rows.length + " findings" : shown + " of " + rows.length + " findings";
  }

  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
})();
