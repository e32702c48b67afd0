// Conversation list filters and read markers (the list's unread counts).
(function () {
  "use strict";
  // A changed filter applies at once; the Filter button stays for use without script.
  const form = document.querySelector("form.list-filters");
  if (form) {
    for (const select of form.querySelectorAll("select")) {
      select.addEventListener("change", function () { form.submit(); });
    }
  }
  // The views' counts: asked for once the list shows, and again after live re-renders, at
  // most every few seconds (they are capped estimates; the cards themselves are live).
  const body = document.body;
  if (body.dataset.page === "list") {
    const COUNTS_GAP = 5000;
    let counts = null;
    let countedAt = 0;
    let countTimer = null;
    const showCounts = function () {
      if (!counts) return;
      for (const span of document.querySelectorAll("#list .count[data-view]")) {
        const n = counts[span.dataset.view];
        if (typeof n === "number") span.textContent = n > counts.cap ? counts.cap + "+" : String(n);
      }
    };
    const loadCounts = async function () {
      countTimer = null;
      countedAt = Date.now();
      const response = await fetch("/view-counts" + window.location.search, { credentials: "same-origin" });
      if (response.ok) { counts = await response.json(); showCounts(); }
    };
    document.addEventListener("inbox:rendered", function () {
      showCounts();
      if (!countTimer) countTimer = setTimeout(loadCounts, Math.max(0, countedAt + COUNTS_GAP - Date.now()));
    });
    loadCounts();
  }
  // Opening a conversation marks it read on the server; a customer message arriving while it is
  // open and visible is read too, so the agent's list does not count it as new.
  if (body.dataset.page !== "conversation") return;
  const token = document.querySelector("input[name=_csrf_token]");
  let timer = null;
  function markRead() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (document.visibilityState !== "visible" || !token) return;
      fetch("/conversations/" + body.dataset.conversation + "/read", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token.value },
      });
    }, 300);
  }
  // Labels changed elsewhere (another tab or agent): re-render the panel's section from the server.
  async function refreshLabels() {
    const section = document.querySelector("section.labels");
    if (!section || section.contains(document.activeElement)) return;
    const response = await fetch("/conversations/" + body.dataset.conversation + "/labels", { credentials: "same-origin" });
    if (response.ok) section.outerHTML = await response.text();
  }
  document.addEventListener("inbox:frame", function (event) {
    const frame = event.detail || {};
    const p = frame.payload || {};
    if (frame.type === "message.created" && String(p.conversation_id) === body.dataset.conversation) markRead();
    if (frame.type === "conversation.updated" && String(p.id) === body.dataset.conversation && Array.isArray(p.labels)) refreshLabels();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") markRead();
  });
})();
