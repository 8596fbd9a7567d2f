/* Keeping the reader's place on the registration form.
   "Add another attendee" reloads the form at #attendee-N: the fieldset takes focus from the
   fragment (tabindex="-1"), so without JavaScript the reader is already there; this moves the
   cursor on into its first field. A form sent back with errors puts the cursor on the first
   field that needs attention. Both wait for the page's own fragment handling, which runs after
   the scripts and would otherwise take the focus back. */
(function () {
  "use strict";
  var id = window.location.hash.slice(1);
  function target() {
    if (/^attendee-\d+$/.test(id)) {
      var card = document.getElementById(id);
      return card && card.querySelector("input:not([type=hidden]), select");
    }
    var error = document.querySelector(".register-form .errorlist");
    var holder = error && error.closest("p, fieldset");
    return holder && holder.querySelector("input:not([type=hidden]), select");
  }
  window.addEventListener("load", function () {
    window.setTimeout(function () {
      var field = target();
      if (field) field.focus();
    }, 0);
  });
})();
