// Applies the saved theme before the page paints (loaded in <head>; no inline script under the CSP).
(function () {
  "use strict";
  try {
    var saved = window.localStorage.getItem("provaudit-theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.setAttribute("data-theme", saved);
    }
  } catch (e) {
    // storage may be disabled for file:// pages; the system theme then applies
  }
})();
