/* A form sent back with errors: its summary of what needs another look takes the keyboard focus as the page
   opens, so a screen reader reads it first and Tab goes on to its links. Without script the summary still shows
   first, and is still announced as an alert. */
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) {
    summary.focus();
  }
})();
