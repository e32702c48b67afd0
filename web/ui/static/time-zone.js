// The login form carries the browser's IANA time zone, so a new agent's times are local at once.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const field = document.querySelector("input[name=time_zone]");
  if (!field) return;
  try {
    field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (_) {
    field.value = "";
  }
});
