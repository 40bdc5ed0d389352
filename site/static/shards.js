// Rows in shards (provaudit/site/shards.py): an index (catalog.js, findings.js) names each shard's file,
// row count and facet values; a shard is a script that stores its rows in window.PROVAUDIT_SHARDS.
// Scripts, not fetch(), so the site works from file://. ProvauditShards.query() scans the shards in
// order, loading one at a time, until it has the rows a page needs: the browser never loads every row
// at once, and a filter skips shards whose facet values cannot match.
(function () {
  "use strict";
  var PAGE = 200;

  function Shards(index, root, prepare) {
    this.index = index;
    this.root = root;
    this.prepare = prepare; // row → what the filters test (kept with the row, computed once)
    this.loaded = {}; // shard number → prepared rows
    this.waiting = {}; // shard number → callbacks
  }

  Shards.PAGE = PAGE;

  Shards.prototype.load = function (number, done) {
    var self = this;
    if (self.loaded[number]) { done(self.loaded[number]); return; }
    if (self.waiting[number]) { self.waiting[number].push(done); return; }
    self.waiting[number] = [done];
    var src = self.index.shards[number].src;
    var script = document.createElement("script");
    script.src = self.root + src;
    script.onload = function () {
      var store = window.PROVAUDIT_SHARDS || {};
      var rows = store[src] || [];
      delete store[src];
      self.loaded[number] = rows.map(self.prepare);
      script.remove();
      var callbacks = self.waiting[number];
      delete self.waiting[number];
      callbacks.forEach(function (callback) { callback(self.loaded[number]); });
    };
    script.onerror = function () {
      script.remove();
      var callbacks = self.waiting[number];
      delete self.waiting[number];
      self.loaded[number] = null;
      callbacks.forEach(function (callback) { callback([]); });
    };
    document.head.appendChild(script);
  };

  // A search over the shards: `keep(shardFacets)` says whether a shard can hold a match, `test(item)`
  // whether an item matches. Matches accumulate in order; more() asks for at least `want` of them.
  Shards.prototype.query = function (keep, test) {
    return new Query(this, keep, test);
  };

  function Query(shards, keep, test) {
    this.shards = shards;
    this.keep = keep;
    this.test = test;
    this.matched = [];
    this.next = 0; // the next shard to scan
    this.cancelled = false;
  }

  Query.prototype.done = function () {
    return this.next >= this.shards.index.shards.length;
  };

  // Scan shards until `want` matches are known or none is left; then call back (unless cancelled).
  Query.prototype.more = function (want, callback) {
    var self = this;
    var list = self.shards.index.shards;
    function step() {
      if (self.cancelled) return;
      while (!self.done() && self.matched.length < want && !self.keep(list[self.next].facets || {})) {
        self.next += 1;
      }
      if (self.done() || self.matched.length >= want) { callback(); return; }
      var number = self.next;
      self.shards.load(number, function (items) {
        if (self.cancelled || self.next !== number) return;
        for (var i = 0; i < items.length; i++) {
          if (self.test(items[i])) self.matched.push(items[i]);
        }
        self.next += 1;
        step();
      });
    }
    step();
  };

  Query.prototype.cancel = function () {
    this.cancelled = true;
  };

  // "12 of 450 records", "450 records", "at least 200 of 100000 records (3 of 100 parts searched)"
  Shards.countText = function (query, total, filtered, one, many) {
    var noun = total === 1 ? one : many;
    if (!filtered) return total + " " + noun;
    if (query.done()) return query.matched.length + " of " + total + " " + noun;
    return "at least " + query.matched.length + " of " + total + " " + noun + " (" + query.next + " of " +
      query.shards.index.shards.length + " parts searched)";
  };

  window.ProvauditShards = Shards;
})();
