// Progressive enhancement shared by every page: the theme toggle and record-page tabs.
// Without JavaScript the page still works: sections are stacked and the tab bar is a list of anchors.
(function () {
  "use strict";

  function currentTheme() {
    var set = document.documentElement.getAttribute("data-theme");
    if (set) return set;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function setupTheme() {
    var button = document.querySelector(".theme-toggle");
    if (!button) return;
    function label() {
      var dark = currentTheme() === "dark";
      button.textContent = dark ? "Light theme" : "Dark theme";
      button.setAttribute("aria-pressed", dark ? "true" : "false");
    }
    button.hidden = false;
    label();
    button.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      document.documentElement.setAttribute("data-theme", next);
      try {
        window.localStorage.setItem("provaudit-theme", next);
      } catch (e) {
        // not persisted; the choice holds for this page
      }
      label();
    });
  }

  // On a narrow screen a graph keeps its size and scrolls in its frame: start with its focus in view.
  function centreGraphs(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".graph-scroll"), function (frame) {
      var focus = frame.querySelector("svg .focus");
      if (!focus || frame.scrollWidth <= frame.clientWidth) return;
      var box = focus.getBoundingClientRect();
      var outer = frame.getBoundingClientRect();
      frame.scrollLeft += box.left + box.width / 2 - (outer.left + outer.width / 2);
    });
  }

  function setupTabs() {
    var nav = document.querySelector("nav.tabs");
    if (!nav) return;
    var links = Array.prototype.slice.call(nav.querySelectorAll("a[href^='#']"));
    var panels = links.map(function (a) {
      return document.getElementById(a.getAttribute("href").slice(1));
    });
    if (panels.some(function (p) { return !p; })) return;
    var list = nav.querySelector("ul");
    list.setAttribute("role", "tablist");
    links.forEach(function (a, i) {
      a.setAttribute("role", "tab");
      a.id = "tab-" + panels[i].id;
      a.setAttribute("aria-controls", panels[i].id);
      a.parentNode.setAttribute("role", "presentation");
      panels[i].setAttribute("role", "tabpanel");
      panels[i].setAttribute("aria-labelledby", a.id);
    });
    document.body.classList.add("tabs-on");

    function panelIndexFor(hash) {
      var id = (hash || "").replace(/^#/, "");
      if (!id) return 0;
      for (var i = 0; i < panels.length; i++) {
        var target = document.getElementById(id);
        if (panels[i].id === id || (target && panels[i].contains(target))) return i;
      }
      return -1;
    }

    function show(index, focus) {
      links.forEach(function (a, i) {
        var on = i === index;
        a.setAttribute("aria-selected", on ? "true" : "false");
        a.tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
      });
      if (focus) links[index].focus();
      centreGraphs(panels[index]);
    }

    links.forEach(function (a, i) {
      a.addEventListener("click", function (event) {
        event.preventDefault();
        show(i, false);
        history.replaceState(null, "", "#" + panels[i].id);
      });
      a.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight") next = (i + 1) % links.length;
        if (event.key === "ArrowLeft") next = (i - 1 + links.length) % links.length;
        if (event.key === "Home") next = 0;
        if (event.key === "End") next = links.length - 1;
        if (next !== null) {
          event.preventDefault();
          show(next, true);
          history.replaceState(null, "", "#" + panels[next].id);
        }
      });
    });

    function fromHash() {
      var index = panelIndexFor(location.hash);
      if (index >= 0) {
        show(index, false);
        var target = location.hash && document.getElementById(location.hash.slice(1));
        if (target && target !== panels[index]) target.scrollIntoView();
        // a link to a whole tab (#audit, #card) opens the page at its title, with the tab bar in view
        else if (target) window.scrollTo(0, 0);
      }
    }
    window.addEventListener("hashchange", fromHash);
    var start = panelIndexFor(location.hash);
    show(start >= 0 ? start : 0, false);
    if (start >= 0 && location.hash) fromHash();
  }

  // The evaluation-data checkbox works by CSS alone; this only carries the choice to the next page.
  function setupEvalToggle() {
    var box = document.getElementById("eval-toggle");
    if (!box) return;
    try {
      var saved = window.localStorage.getItem("provaudit-eval");
      if (saved === "hide") box.checked = false;
      box.addEventListener("change", function () {
        window.localStorage.setItem("provaudit-eval", box.checked ? "show" : "hide");
      });
    } catch (e) {
      // storage may be disabled for file:// pages; the box then starts checked on every page
    }
  }

  setupTheme();
  setupTabs();
  setupEvalToggle();
  if (!document.body.classList.contains("tabs-on")) centreGraphs(document);
})();
