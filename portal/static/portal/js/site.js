// Progressive enhancement only: every page works without this file.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  // A read-only address (a feed's) is selected whole, ready to copy.
  for (const field of document.querySelectorAll("[data-select-on-focus]")) {
    field.addEventListener("focus", () => field.select());
  }
  // A message about the thing a link points at ("Posted.", after posting a reply) goes next
  // to it, so both are in view below the sticky header instead of the message scrolled away.
  const flash = document.querySelector(".messages");
  const target = location.hash.length > 1 && document.getElementById(location.hash.slice(1));
  if (flash && target && target.closest("main")) {
    flash.classList.add("messages--at-target");
    target.prepend(flash);
    target.scrollIntoView({ block: "start" });
  }
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("site-nav");
  if (!toggle || !nav) return;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("is-open", open);
  });
});
