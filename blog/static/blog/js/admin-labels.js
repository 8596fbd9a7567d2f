// Wagtail's tag field builds its typing box with jQuery UI tag-it, which gives that box no
// label; name it after the field it belongs to so screen readers announce it (axe: label).
(function () {
  function nameTagInputs(root) {
    root.querySelectorAll("input.ui-autocomplete-input:not([aria-label])").forEach(function (input) {
      var field = input.closest("[data-field-wrapper], .w-field__wrapper, .w-field");
      var label = field && field.querySelector("label");
      var name = label ? label.textContent.trim() : "";
      input.setAttribute("aria-label", name ? "Add to " + name : "Add a tag");
    });
  }
  new MutationObserver(function () { nameTagInputs(document); }).observe(document.documentElement, {
    childList: true,
    subtree: true,
  });
  document.addEventListener("DOMContentLoaded", function () { nameTagInputs(document); });
})();
