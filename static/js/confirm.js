// Destructive actions ask before they go (UI.md): a form with data-confirm="question" is sent
// only when the person confirms. Without this script the form still works (the server checks
// every rule); the question is a second look, not a safeguard.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
})();
