// The catalog's only script: search and filters on the index, the reader choice on a
// product page, and highlighting a product in the whole mesh's lineage. No network use.
(function () {
  "use strict";
  var FILTERS = ["domain", "classification", "cloud", "tag", "slo"];

  function byId(id) { return document.getElementById(id); }

  function readHash() {
    var hash = window.location.hash.replace(/^#/, "");
    try { return new URLSearchParams(hash); } catch (e) { return new URLSearchParams(); }
  }

  function setupIndex(list) {
    var search = byId("q");
    var cards = Array.prototype.slice.call(list.querySelectorAll("li.product"));
    byId("filters").addEventListener("submit", function (event) { event.preventDefault(); });

    function restore() {
      var params = readHash();
      search.value = params.get("q") || "";
      FILTERS.forEach(function (name) {
        var select = byId("f-" + name);
        var wanted = params.get(name) || "";
        var known = Array.prototype.some.call(select.options, function (o) { return o.value === wanted; });
        select.value = known ? wanted : "";
      });
    }

    function apply() {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var want = {};
      FILTERS.forEach(function (name) { want[name] = byId("f-" + name).value; });
      var shown = 0;
      cards.forEach(function (card) {
        var d = card.dataset;
        var match = words.every(function (w) { return d.search.indexOf(w) !== -1; }) &&
          (!want.domain || d.domain === want.domain) &&
          (!want.classification || d.classification === want.classification) &&
          (!want.cloud || d.cloud === want.cloud) &&
          (!want.tag || d.tags.indexOf(" " + want.tag + " ") !== -1) &&
          (!want.slo || d.slo === want.slo);
        card.hidden = !match;
        if (match) { shown += 1; }
      });
      byId("count").textContent = shown + " of " + cards.length + " products";
      byId("none").hidden = shown > 0;
      var params = new URLSearchParams();
      if (search.value) { params.set("q", search.value); }
      FILTERS.forEach(function (name) { if (want[name]) { params.set(name, want[name]); } });
      var state = params.toString();
      try {
        window.history.replaceState(null, "", state ? "#" + state : window.location.pathname);
      } catch (e) { /* some file:// setups refuse it; the filters still work */ }
    }

    restore();
    apply();
    search.addEventListener("input", apply);
    FILTERS.forEach(function (name) { byId("f-" + name).addEventListener("change", apply); });
    window.addEventListener("hashchange", function () { restore(); apply(); });
  }

  function setupReader(select) {
    function show() {
      document.querySelectorAll(".access-change").forEach(function (block) {
        block.hidden = block.getAttribute("data-reader") !== select.value;
      });
    }
    select.addEventListener("change", show);
    show();
  }

  function setupLineage(svg) {
    var nodes = Array.prototype.slice.call(svg.querySelectorAll(".node"));
    var edges = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
    var note = byId("focus-note");

    function reach(start, forward) {
      var seen = {};
      var todo = [start];
      while (todo.length) {
        var current = todo.pop();
        edges.forEach(function (edge) {
          var from = edge.getAttribute("data-from");
          var to = edge.getAttribute("data-to");
          var next = forward ? (from === current ? to : null) : (to === current ? from : null);
          if (next !== null && !seen[next] && next !== start) { seen[next] = true; todo.push(next); }
        });
      }
      return seen;
    }

    function focus() {
      var id = decodeURIComponent(window.location.hash.replace(/^#/, ""));
      var known = nodes.some(function (n) { return n.getAttribute("data-node") === id; });
      var marks = ["focus", "upstream", "downstream", "dim"];
      nodes.concat(edges).forEach(function (el) { marks.forEach(function (m) { el.classList.remove(m); }); });
      note.hidden = !known;
      if (!known) { return; }
      var up = reach(id, false);
      var down = reach(id, true);
      nodes.forEach(function (node) {
        var n = node.getAttribute("data-node");
        node.classList.add(n === id ? "focus" : up[n] ? "upstream" : down[n] ? "downstream" : "dim");
      });
      edges.forEach(function (edge) {
        var from = edge.getAttribute("data-from");
        var to = edge.getAttribute("data-to");
        if (up[from] && (up[to] || to === id)) { edge.classList.add("upstream"); }
        else if (down[to] && (down[from] || from === id)) { edge.classList.add("downstream"); }
        else { edge.classList.add("dim"); }
      });
      note.textContent = "Highlighted: " + id + ", what it is built from (upstream) and who reads it (downstream).";
      var target = svg.querySelector('.node.focus');
      if (target && target.scrollIntoView) { target.scrollIntoView({block: "center", inline: "nearest"}); }
    }

    focus();
    window.addEventListener("hashchange", focus);
  }

  var list = byId("products");
  if (list) { setupIndex(list); }
  var reader = byId("reader");
  if (reader) { setupReader(reader); }
  var whole = document.querySelector("#graph svg.lineage");
  if (whole) { setupLineage(whole); }
})();
