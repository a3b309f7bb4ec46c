// Destructive actions ask before they go (UI.md): a form with data-confirm="question" is sent
// only when the person confirms. Without this script the form still works (the server checks
// every rule); the question is a second look, not a safeguard.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    // data-confirm-when="name=value": ask only when that choice is made (a rejection, say)
    var when = form.getAttribute && form.getAttribute("data-confirm-when");
    if (question && when) {
      var pair = when.split("=");
      var chosen = form.querySelector('[name="' + pair[0] + '"]:checked');
      if (!chosen || chosen.value !== pair[1]) { question = null; }
    }
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
})();
