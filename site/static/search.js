// Catalog search and filters over the catalog's shards (window.PROVAUDIT_CATALOG from catalog.js is
// their index; static/shards.js loads them as scripts, which works from file:// where fetch() is
// refused). The page lists the first records statically (for reading without JavaScript); this
// script renders the matching records a page at a time, loading only the shards that page needs,
// built with DOM methods and textContent only, so no catalog value is ever parsed as HTML.
(function () {
  "use strict";
  var index = window.PROVAUDIT_CATALOG;
  var Shards = window.ProvauditShards;
  var form = document.getElementById("catalog-filters");
  var table = document.getElementById("catalog");
  var count = document.getElementById("catalog-count");
  var more = document.getElementById("catalog-more");
  var note = document.getElementById("catalog-static-note");
  var empty = document.getElementById("catalog-empty");
  if (!index || !Shards || !form || !table) return;
  var PAGE = Shards.PAGE;
  var USE_LABELS = {
    "commercial": "commercial use",
    "unspecified": "unspecified",
    "non-commercial": "non-commercial",
    "academic-only": "academic only"
  };

  var f = {};
  index.fields.forEach(function (name, i) { f[name] = i; });
  var shards = new Shards(index, "", function (r) {
    var text = [r[f.id], r[f.name], r[f.title], r[f.publisher], r[f.effective], r[f.effective_names]]
      .concat(r[f.declared], r[f.declared_names].map(function (d) { return d[0]; }), r[f.collections])
      .join(" ").toLowerCase();
    return { row: r, text: text };
  });
  var query = null;
  var filtered = false;
  var busy = false;
  var limit = PAGE;
  // a cell of the declared-versus-actual table (audit page, collection cards): "source:declared",
  // e.g. #use=non-commercial&audit=huggingface:commercial; no form field, cleared by the reset button
  var auditCell = "";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // a cell with its column's name, which the phone layout shows in front of the value (site.css)
  function cell(className, label, text) {
    var td = el("td", className, text);
    td.setAttribute("data-label", label);
    return td;
  }

  function license(expr) {
    return expr ? el("code", "lic", expr) : el("span", "none", "none");
  }

  // a declared license: its name, then its id (as the static rows show it)
  function declaredLicense(parent, pair) {
    if (pair[0] !== pair[1]) {
      parent.appendChild(el("span", "lic-name", pair[0]));
      parent.appendChild(document.createTextNode(" "));
    }
    parent.appendChild(el("code", "lic", pair[1]));
  }

  function renderRow(r) {
    var tr = el("tr");
    var th = el("th");
    th.scope = "row";
    var a = el("a", "", r[f.name]);
    a.href = r[f.href];
    th.appendChild(a);
    if (r[f.title] && r[f.title] !== r[f.name]) th.appendChild(el("small", "sub", r[f.title]));
    tr.appendChild(th);
    tr.appendChild(cell("", "Type", r[f.kind]));
    tr.appendChild(cell("", "Publisher", r[f.publisher]));
    var declared = cell("", "Declared license");
    if (r[f.declared_names].length) {
      r[f.declared_names].forEach(function (d) {
        declaredLicense(declared, d);
        declared.appendChild(document.createTextNode(" "));
      });
    } else {
      declared.appendChild(el("span", "none", "none"));
    }
    tr.appendChild(declared);
    var effective = cell("", "Effective license");
    if (r[f.effective]) declaredLicense(effective, [r[f.effective_names], r[f.effective]]);
    else effective.appendChild(license(""));
    tr.appendChild(effective);
    var use = cell("", "Commercial use");
    if (r[f.use] === "commercial" && r[f.conditions].length) {
      use.appendChild(el("span", "badge use-conditional", "commercial use with conditions"));
    } else {
      use.appendChild(el("span", "badge use-" + r[f.use], USE_LABELS[r[f.use]] || r[f.use]));
    }
    tr.appendChild(use);
    var findings = cell("num", "Findings");
    if (r[f.findings]) findings.appendChild(el("span", "sev-" + r[f.worst], String(r[f.findings])));
    else findings.textContent = "0";
    tr.appendChild(findings);
    return tr;
  }

  function render() {
    busy = false;
    var matched = query.matched;
    var body = document.createElement("tbody");
    matched.slice(0, limit).forEach(function (rec) { body.appendChild(renderRow(rec.row)); });
    table.replaceChild(body, table.tBodies[0]);
    var total = index.total;
    var text = Shards.countText(query, total, filtered, "record", "records");
    if (matched.length > limit) text += " (showing the first " + limit + ")";
    if (auditCell) {
      var unaudited = auditCell.indexOf("unaudited.") === 0;
      text += ", declared by " + auditCell.replace(/^unaudited\./, "").replace(":", " as ") +
        (unaudited ? ", upstream not audited" : "") + " (Clear removes this filter)";
    }
    count.textContent = text;
    if (more) more.hidden = matched.length <= limit;
    // no match: say so (and offer to clear) instead of showing an empty table
    if (empty) empty.hidden = matched.length > 0 || total === 0;
    table.hidden = matched.length === 0;
  }

  function has(values, value) {
    return (values || []).indexOf(value) >= 0;
  }

  // whether a shard can hold a match, from the facet values its index entry lists
  function mayMatch(facets, kind, lic, use, collection, conditions) {
    if (kind && !has(facets.kind, kind)) return false;
    if (lic && !has(facets.license, lic)) return false;
    if (use && !has(facets.use, use)) return false;
    if (collection && !has(facets.collection, collection)) return false;
    if (conditions === "none" && !has(facets.conditions, "none")) return false;
    if (conditions === "any" && !(facets.conditions || []).some(function (c) { return c !== "none"; })) return false;
    if (conditions && conditions !== "any" && conditions !== "none" && !has(facets.conditions, conditions)) {
      return false;
    }
    return true;
  }

  function matches(rec, q, kind, lic, use, findings, collection, conditions) {
    var r = rec.row;
    if (conditions === "any" && !r[f.conditions].length) return false;
    if (conditions === "none" && r[f.conditions].length) return false;
    if (conditions && conditions !== "any" && conditions !== "none" && r[f.conditions].indexOf(conditions) < 0) {
      return false;
    }
    if (kind && r[f.kind] !== kind) return false;
    if (lic && (r[f.effective] || "none") !== lic) return false;
    if (use && r[f.use] !== use) return false;
    if (findings === "yes" && !r[f.findings]) return false;
    if (findings === "no" && r[f.findings]) return false;
    if (collection && r[f.collections].indexOf(collection) < 0) return false;
    if (auditCell && (f.audit === undefined || r[f.audit].indexOf(auditCell) < 0)) return false;
    for (var i = 0; i < q.length; i++) {
      if (rec.text.indexOf(q[i]) < 0) return false;
    }
    return true;
  }

  var applied = null;

  function apply() {
    var state = new URLSearchParams();
    ["q", "kind", "license", "use", "conditions", "findings", "collection"].forEach(function (name) {
      if (form[name].value) state.set(name, form[name].value);
    });
    if (auditCell) state.set("audit", auditCell);
    var hash = state.toString();
    // the search box also fires "change" when it loses focus: re-rendering then would swallow a click
    if (hash === applied) return;
    applied = hash;
    var q = form.q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var kind = form.kind.value, lic = form.license.value, use = form.use.value, findings = form.findings.value;
    var collection = form.collection.value, conditions = form.conditions.value;
    if (query) query.cancel();
    filtered = hash !== "";
    query = shards.query(function (facets) {
      return mayMatch(facets, kind, lic, use, collection, conditions);
    }, function (rec) {
      return matches(rec, q, kind, lic, use, findings, collection, conditions);
    });
    limit = PAGE;
    busy = true;
    query.more(limit + 1, render);  // one more than a page: whether "Show more" has anything to show
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  // restore filters from the address (#q=llama&use=commercial), so a filtered view can be shared
  var saved = new URLSearchParams(location.hash.replace(/^#/, ""));
  saved.forEach(function (value, name) {
    if (name === "audit") auditCell = value;
    else if (form[name]) form[name].value = value;
  });

  var timer = null;
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 60);
  });
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () {
    auditCell = "";
    setTimeout(apply, 0);
  });
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
