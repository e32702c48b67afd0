// Live updates: one websocket per tab; on a relevant event, re-render the server's partial.
(function () {
  "use strict";
  const body = document.body;
  const state = document.getElementById("live-state");
  let seq = Number(body.dataset.seq || 0);
  let delay = 500;
  let pending = null;

  function show(label, kind) {
    if (!state) return;
    state.textContent = label;
    state.dataset.state = kind;
  }

  function relevant(frame) {
    const p = frame.payload || {};
    if (body.dataset.page === "list") return frame.type.startsWith("conversation.") || frame.type === "message.created";
    if (body.dataset.page === "conversation") {
      return String(p.customer_id) === body.dataset.customer || String(p.id) === body.dataset.conversation;
    }
    return false;
  }

  function refresh() {
    if (pending) return;
    pending = setTimeout(async function () {
      pending = null;
      const target = body.dataset.page === "list" ? document.getElementById("list") : document.getElementById("timeline");
      if (!target) return;
      const url = new URL(window.location.href);
      url.searchParams.set("partial", "1");
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) target.innerHTML = await response.text();
    }, 60);
  }

  function connect() {
    if (!body.dataset.page) return;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + window.location.host + "/ws?since=" + seq);
    socket.onopen = function () { delay = 500; show("live", "live"); };
    socket.onmessage = function (event) {
      const frame = JSON.parse(event.data);
      if (frame.seq <= seq) return;
      seq = frame.seq;
      if (relevant(frame)) refresh();
    };
    socket.onclose = function () {
      show("offline – reconnecting", "offline");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();
