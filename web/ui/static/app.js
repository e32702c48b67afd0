// Live updates: one websocket per tab; on a relevant event, re-render the server's partial.
(function () {
  "use strict";
  const body = document.body;
  const state = document.getElementById("live-state");
  let seq = Number(body.dataset.seq || 0);
  let delay = 500;
  let pending = null;
  let live = null;

  function show(label, kind) {
    if (!state) return;
    state.textContent = label;
    state.dataset.state = kind;
  }

  function relevant(frame) {
    if (body.dataset.page === "list") return frame.type.startsWith("conversation.") || frame.type === "message.created";
    // The conversation page's own script (conversation.js) appends and updates in place.
    return false;
  }

  // An open list asks the server again at most once a second however busy the inbox is: the
  // first change shows within a blink, a burst of them in one re-render.
  let refreshedAt = 0;
  const REFRESH_GAP = 1000;
  function refresh() {
    if (pending) return;
    const wait = Math.max(60, refreshedAt + REFRESH_GAP - Date.now());
    pending = setTimeout(async function () {
      pending = null;
      refreshedAt = Date.now();
      const target = body.dataset.page === "list" ? document.getElementById("list") : document.getElementById("timeline");
      if (!target) return;
      const url = new URL(window.location.href);
      url.searchParams.set("partial", "1");
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) {
        target.innerHTML = await response.text();
        document.dispatchEvent(new CustomEvent("inbox:rendered"));
      }
    }, wait);
  }

  function connect() {
    // Pages without live content (admin, search) open no socket: say nothing rather than "connecting…".
    if (!body.dataset.page) { if (state) state.hidden = true; return; }
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + window.location.host + "/ws?since=" + seq);
    live = socket;
    socket.onopen = function () {
      delay = 500;
      show(state ? state.dataset.live : "live", "live");
      // Page scripts say things about this tab (which conversation it views) once connected.
      document.dispatchEvent(new CustomEvent("inbox:open"));
    };
    socket.onmessage = function (event) {
      const frame = JSON.parse(event.data);
      // Passing notices (typing) are never stored: no seq, never replayed, handed on as they come.
      if (!frame.seq) { document.dispatchEvent(new CustomEvent("inbox:frame", { detail: frame })); return; }
      if (frame.seq <= seq) return;
      seq = frame.seq;
      // Other page scripts (typing, suggestions, labels…) listen for frames instead of opening sockets.
      document.dispatchEvent(new CustomEvent("inbox:frame", { detail: frame }));
      if (relevant(frame)) refresh();
    };
    socket.onclose = function () {
      show(state ? state.dataset.offline : "offline", "offline");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  // Page scripts speak over this tab's one socket; while it is down a notice is dropped.
  document.addEventListener("inbox:send", function (event) {
    if (live && live.readyState === WebSocket.OPEN) live.send(JSON.stringify(event.detail));
  });
  connect();
})();

// Simulator: offer only the inboxes that receive the chosen channel, and say what a sender is.
(function () {
  "use strict";
  const channel = document.getElementById("sim-channel");
  const inbox = document.getElementById("sim-inbox");
  const hint = document.getElementById("sim-hint");
  if (!channel || !inbox) return;
  function update() {
    const chosen = channel.selectedOptions[0];
    const kind = chosen.dataset.kind;
    let first = null;
    for (const option of inbox.options) {
      option.hidden = option.dataset.kind !== kind;
      if (!option.hidden && first === null) first = option;
    }
    if (inbox.selectedOptions[0] && inbox.selectedOptions[0].hidden && first) first.selected = true;
    if (hint) hint.textContent = chosen.dataset.hint;
  }
  channel.addEventListener("change", update);
  update();
  // Replies reach the stand-in provider when the outbox sends them; their status frame says so.
  const sent = document.getElementById("sim-sent");
  let timer = null;
  document.addEventListener("inbox:frame", function (event) {
    if (!sent || !event.detail.type.startsWith("message.")) return;
    clearTimeout(timer);
    timer = setTimeout(async function () {
      const response = await fetch("/simulator/devices", { credentials: "same-origin" });
      if (response.ok) sent.innerHTML = await response.text();
    }, 100);
  });
})();

// Reply box: what the chosen channel allows (WhatsApp window, SMS opt-out) and SMS segments.
// The channel picker is re-rendered live (conversation.js), so its elements are looked up anew.
(function () {
  "use strict";
  const text = document.querySelector("form.reply textarea[name=text]");
  if (!text) return;
  const byId = function (id) { return document.getElementById(id); };
  let timer = null;
  function chosen() {
    const picker = byId("reply-channel");
    return picker ? picker.selectedOptions[0] : null;
  }
  function describe() {
    const option = chosen();
    if (!option) return;
    const reason = option.dataset.closed;
    byId("reply-closed").textContent = reason;
    byId("reply-closed").hidden = !reason;
    byId("reply-window").hidden = Boolean(reason) || option.dataset.channel !== "whatsapp";
    measure();
  }
  function measure() {
    clearTimeout(timer);
    const option = chosen();
    const count = byId("sms-count");
    if (!option || option.dataset.channel !== "sms" || !text.value) {
      if (count) count.hidden = true;
      return;
    }
    timer = setTimeout(async function () {
      const url = "/sms-length?text=" + encodeURIComponent(text.value);
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      const size = await response.json();
      const noun = size.segments === 1 ? count.dataset.one : count.dataset.many;
      count.textContent = size.segments + " " + noun +
        " · " + size.units + "/" + size.per_segment * Math.max(size.segments, 1) + " " + size.encoding;
      count.hidden = false;
    }, 150);
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "reply-channel") describe();
  });
  document.addEventListener("inbox:reply-options", describe);
  text.addEventListener("input", measure);
  describe();
})();
