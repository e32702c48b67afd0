// Collision: which other agents have this conversation open, and who of them is typing.
// This tab says "viewing" when its socket opens (with hello, so tabs already here answer)
// and every HEARTBEAT ms after; it says "typing" while its agent writes a reply or note.
// Others fade out when they stop saying so; the server says "left" when their socket ends.
(function () {
  "use strict";
  const body = document.body;
  const line = document.getElementById("collision");
  if (!line || body.dataset.page !== "conversation") return;
  const conversation = Number(body.dataset.conversation);
  const me = String(body.dataset.agent || "");
  const tab = Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
  const HEARTBEAT = 15000;
  const FADE = 40000; // three missed heartbeats
  const TYPING_FOR = 6000;
  const TYPING_EVERY = 2500;
  const present = new Map(); // agent id + tab -> { id, name, avatar, until }
  const typing = new Map(); // agent id -> { until, note }
  let typedAt = 0;

  function send(type, extra) {
    const detail = Object.assign({ type: type, conversation_id: conversation, tab: tab }, extra || {});
    document.dispatchEvent(new CustomEvent("inbox:send", { detail: detail }));
  }

  function phrase(name, key) {
    return (line.dataset[key] || "%(name)s").replace("%(name)s", name);
  }

  function render() {
    const now = Date.now();
    const agents = new Map();
    for (const [key, entry] of present) {
      if (entry.until < now) present.delete(key);
      else agents.set(entry.id, entry);
    }
    for (const [id, entry] of typing) {
      if (entry.until < now) typing.delete(id);
      else if (!agents.has(id)) agents.set(id, entry); // typing through the API, page not open
    }
    line.replaceChildren();
    for (const [id, entry] of agents) {
      const chip = document.createElement("span");
      const busy = typing.get(id);
      chip.className = "presence" + (busy ? " busy" : "");
      chip.dataset.agentId = id;
      const face = document.createElement("span");
      face.className = "face";
      face.setAttribute("aria-hidden", "true");
      if (entry.avatar) {
        const img = document.createElement("img");
        img.src = entry.avatar;
        img.alt = "";
        face.append(img);
      } else {
        face.textContent = (entry.name || "?").trim().charAt(0).toUpperCase();
      }
      const name = entry.name || line.dataset.someone;
      chip.append(face, document.createTextNode(
        phrase(name, busy ? (busy.note ? "note" : "typing") : "viewing")));
      line.append(chip);
    }
    line.hidden = agents.size === 0;
  }

  document.addEventListener("inbox:open", function () { send("viewing", { hello: true }); });
  // Deferred scripts run in turn, and a fast socket can open before this one runs: then the
  // "inbox:open" above was missed, so say hello now.
  const liveState = document.getElementById("live-state");
  if (liveState && liveState.dataset.state === "live") send("viewing", { hello: true });
  setInterval(function () { send("viewing"); render(); }, HEARTBEAT);
  window.addEventListener("pagehide", function () { send("left"); });

  document.addEventListener("inbox:frame", function (event) {
    const frame = event.detail || {};
    const p = frame.payload || {};
    if (Number(p.conversation_id) !== conversation) return;
    const id = String(p.agent_id || "");
    if (frame.type === "presence") {
      if (p.tab === tab) return;
      if (p.hello && p.state === "viewing") send("viewing"); // the newcomer learns we are here
      if (id === me) return; // this agent's other tabs are not "someone else"

      const key = id + ":" + p.tab;
      if (p.state === "left") present.delete(key);
      else present.set(key, { id: id, name: p.agent_name, avatar: p.agent_avatar, until: Date.now() + FADE });
    } else if (frame.type === "typing" && p.author === "agent" && id && id !== me) {
      typing.set(id, { id: id, name: p.agent_name, avatar: p.agent_avatar,
                       until: Date.now() + TYPING_FOR, note: Boolean(p.private) });
      setTimeout(render, TYPING_FOR + 50);
    } else if (frame.type === "message.created" && p.author === "agent") {
      typing.delete(String(p.agent_id || ""));
    } else {
      return;
    }
    render();
  });

  const reply = document.querySelector("form.reply");
  const text = reply && reply.querySelector("textarea[name=text]");
  const note = reply && reply.querySelector("input[name=private]");
  if (text) {
    text.addEventListener("input", function () {
      const now = Date.now();
      if (!text.value.trim() || now - typedAt < TYPING_EVERY) return;
      typedAt = now;
      send("typing", { private: Boolean(note && note.checked) });
    });
  }
})();
