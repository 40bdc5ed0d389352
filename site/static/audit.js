// Audit page: filters by rule, severity and collection over the findings' shards (findings.js is
// their index, static/shards.js loads them). The page lists the first findings statically; this
// script renders the matching ones a page at a time, loading only the shards that page needs, with
// DOM methods and textContent only, so no finding text is ever parsed as HTML.
(function () {
  "use strict";
  var index = window.PROVAUDIT_FINDINGS;
  var Shards = window.ProvauditShards;
  var form = document.getElementById("audit-filters");
  var table = document.getElementById("audit-table");
  var count = document.getElementById("audit-count");
  var more = document.getElementById("audit-more");
  var note = document.getElementById("audit-static-note");
  if (!index || !Shards || !form || !table) return;
  var PAGE = Shards.PAGE;
  var f = {};
  index.fields.forEach(function (name, i) { f[name] = i; });
  var shards = new Shards(index, "", function (r) { return r; });
  var query = null;
  var filtered = false;
  var busy = false;
  var limit = PAGE;
  var applied = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // `backticks` quote keys and commands, as on the static rows: code elements, the rest plain text
  function codeText(parent, text) {
    var parts = text.split("`");
    if (parts.length % 2 === 0) { parent.appendChild(document.createTextNode(text)); return parent; }
    parts.forEach(function (part, i) {
      parent.appendChild(i % 2 ? el("code", "", part) : document.createTextNode(part));
    });
    return parent;
  }

  function renderRow(r) {
    var tr = el("tr");
    tr.setAttribute("data-rule", r[f.rule]);
    tr.setAttribute("data-severity", r[f.severity]);
    var severity = el("td");
    severity.appendChild(el("span", "badge sev-" + r[f.severity], r[f.severity]));
    tr.appendChild(severity);
    var rule = el("td");
    rule.appendChild(el("code", "", r[f.rule]));
    tr.appendChild(rule);
    var record = el("td");
    var a = el("a", "", r[f.name]);
    a.href = r[f.href];
    record.appendChild(a);
    record.appendChild(document.createTextNode(" "));
    record.appendChild(el("small", "", r[f.kind]));
    tr.appendChild(record);
    var message = codeText(el("td"), r[f.message]);
    if (r[f.source]) {
      message.appendChild(document.createTextNode(" "));
      message.appendChild(el("span", "src", r[f.source]));
    }
    if (r[f.fix]) {
      message.appendChild(el("br"));
      message.appendChild(codeText(el("span", "fix", "Fix: "), r[f.fix]));
    }
    tr.appendChild(message);
    tr.appendChild(el("td", "", r[f.collections].join(", ")));
    return tr;
  }

  function render() {
    busy = false;
    var matched = query.matched;
    var body = document.createElement("tbody");
    matched.slice(0, limit).forEach(function (r) { body.appendChild(renderRow(r)); });
    table.replaceChild(body, table.tBodies[0]);
    var total = index.total;
    var text = Shards.countText(query, total, filtered, "findings", "findings");
    if (matched.length > limit) text += " (showing the first " + limit + ")";
    count.textContent = text;
    if (more) more.hidden = matched.length <= limit;
  }

  function apply() {
    var rule = form.rule.value, severity = form.severity.value, collection = form.collection.value;
    var key = [rule, severity, collection].join("\n");
    if (key === applied) return;
    applied = key;
    if (query) query.cancel();
    filtered = Boolean(rule || severity || collection);
    query = shards.query(function (facets) {
      return (!rule || (facets.rule || []).indexOf(rule) >= 0) &&
        (!severity || (facets.severity || []).indexOf(severity) >= 0) &&
        (!collection || (facets.collection || []).indexOf(collection) >= 0);
    }, function (r) {
      return (!rule || r[f.rule] === rule) && (!severity || r[f.severity] === severity) &&
        (!collection || r[f.collections].indexOf(collection) >= 0);
    });
    limit = PAGE;
    busy = true;
    query.more(limit + 1, render);  // one more than a page: whether "Show more" has anything to show
  }

  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  if (more) {
    more.addEventListener("click", function () {
      if (busy) return;
      busy = true;
      limit += PAGE * 5;
      query.more(limit + 1, render);
    });
  }
  if (note) note.hidden = true;
  form.hidden = false;
  apply();
})();
