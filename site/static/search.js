// Catalog search and filters over window.PROVAUDIT_CATALOG (catalog.js, loaded as a script so that
// it works from file:// where fetch() is refused). Rows of the static table are shown or hidden.
(function () {
  "use strict";
  var data = window.PROVAUDIT_CATALOG;
  var form = document.getElementById("catalog-filters");
  var table = document.getElementById("catalog");
  var count = document.getElementById("catalog-count");
  if (!data || !form || !table) return;

  var f = {};
  data.fields.forEach(function (name, i) { f[name] = i; });
  var rows = table.tBodies[0].rows;
  var records = data.rows.map(function (r) {
    var text = [r[f.id], r[f.name], r[f.title], r[f.publisher], r[f.effective]]
      .concat(r[f.declared], r[f.collections]).join(" ").toLowerCase();
    return { row: r, text: text };
  });

  function matches(rec, q, kind, license, use, findings, collection) {
    var r = rec.row;
    if (kind && r[f.kind] !== kind) return false;
    if (license && (r[f.effective] || "none") !== license) return false;
    if (use && r[f.use] !== use) return false;
    if (findings === "yes" && !r[f.findings]) return false;
    if (findings === "no" && r[f.findings]) return false;
    if (collection && r[f.collections].indexOf(collection) < 0) return false;
    for (var i = 0; i < q.length; i++) {
      if (rec.text.indexOf(q[i]) < 0) return false;
    }
    return true;
  }

  function apply() {
    var q = form.q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    for (var i = 0; i < records.length; i++) {
      var ok = matches(records[i], q, form.kind.value, form.license.value, form.use.value,
        form.findings.value, form.collection.value);
      var tr = rows[i];
      if (tr && tr.hidden === ok) tr.hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = shown === records.length
      ? records.length + " records"
      : shown + " of " + records.length + " records";
    var state = new URLSearchParams();
    ["q", "kind", "license", "use", "findings", "collection"].forEach(function (name) {
      if (form[name].value) state.set(name, form[name].value);
    });
    var hash = state.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  // restore filters from the address (#q=llama&use=commercial), so a filtered view can be shared
  var saved = new URLSearchParams(location.hash.replace(/^#/, ""));
  saved.forEach(function (value, name) {
    if (form[name]) form[name].value = value;
  });

  var timer = null;
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 60);
  });
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
})();
