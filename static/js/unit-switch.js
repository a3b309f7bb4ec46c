// The MBq / mCi switch in the top bar submits itself when changed (the Set button stays for
// keyboard users and for browsers without JavaScript). No inline script: the CSP forbids it.
(function () {
  "use strict";

  function wire() {
    var select = document.getElementById("unit-select");
    if (!select || !select.form) {
      return;
    }
    select.addEventListener("change", function () {
      select.form.submit();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
