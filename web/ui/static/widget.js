/* The website chat widget: <script src="https://SUPPORT/widget.js?inbox=TOKEN" async></script>
   Optional attributes: data-lang="ko|en", data-user-id, data-email, data-name, data-signature
   (HMAC-SHA256 of user_id with the inbox's identity secret, made by the host site's server).
   Shadow DOM keeps the host page's CSS out; websocket first, HTTP polling when it is blocked. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__inboxWidget) return;
  window.__inboxWidget = true;
  var src = new URL(script.src);
  var base = src.origin;
  var token = src.searchParams.get("inbox") || "";
  var data = script.dataset || {};
  var STRINGS = {
    en: { title: "Chat with us", placeholder: "Write a message…", send: "Send",
          offline: "We are offline. Leave a message and your email; we will write back.",
          email: "Email (optional)", name: "Name (optional)", open: "Open chat", close: "Close",
          you: "You", agent: "Support", bot: "Assistant", error: "Could not send. Retrying…",
          tooMany: "Too many messages. Please wait a moment.", typing: "Support is typing…",
          human: "Talk to a person", humanText: "I'd like to talk to a human agent, please.",
          attach: "Attach a file", uploading: "Sending file…", typingName: "{name} is typing…",
          tooBig: "That file is too large (10 MB at most).",
          badType: "Only images, PDF, office documents and text files can be sent.",
          uploadFailed: "The file could not be sent.", download: "Download" },
    ko: { title: "문의하기", placeholder: "메시지를 입력하세요…", send: "보내기",
          offline: "지금은 상담 시간이 아닙니다. 메시지와 이메일을 남겨 주시면 답변드리겠습니다.",
          email: "이메일 (선택)", name: "이름 (선택)", open: "채팅 열기", close: "닫기",
          you: "나", agent: "상담원", bot: "도우미", error: "전송 실패. 다시 시도합니다…",
          tooMany: "메시지가 너무 많습니다. 잠시 후 다시 시도하세요.", typing: "상담원이 입력 중…",
          human: "상담원 연결", humanText: "상담원과 이야기하고 싶어요.",
          attach: "파일 첨부", uploading: "파일 보내는 중…", typingName: "{name} 님이 입력 중…",
          tooBig: "파일이 너무 큽니다 (최대 10MB).",
          badType: "이미지, PDF, 오피스 문서, 텍스트 파일만 보낼 수 있습니다.",
          uploadFailed: "파일을 보내지 못했습니다.", download: "다운로드" }
  };
  var lang = (data.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var t = STRINGS[lang] || STRINGS.en;

  var KEY = "inbox-widget-visitor:" + token;
  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  var visitor = localStorage.getItem(KEY);
  if (!visitor || !/^[A-Za-z0-9-]{16,64}$/.test(visitor)) {
    visitor = randomId();
    localStorage.setItem(KEY, visitor);
  }

  function identity() {
    var q = { inbox: token, visitor: visitor };
    if (data.userId && data.signature) {
      q.user_id = data.userId; q.signature = data.signature;
      if (data.email) q.email = data.email;
      if (data.name) q.name = data.name;
    }
    return q;
  }
  function query(extra) {
    var q = identity(), k;
    for (k in extra) q[k] = extra[k];
    return Object.keys(q).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(q[k]);
    }).join("&");
  }

  /* --- the view, inside a shadow root --- */
  var host = document.createElement("div");
  var root = host.attachShadow({ mode: "open" });
  var css =
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}" +
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;" +
    "border:0;background:#2563eb;color:#fff;font-size:24px;cursor:pointer;z-index:2147483646}" +
    ".panel{position:fixed;right:20px;bottom:86px;width:340px;max-width:calc(100vw - 40px);" +
    "height:460px;max-height:calc(100vh - 120px);display:none;flex-direction:column;" +
    "background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.2);" +
    "z-index:2147483647;overflow:hidden}.panel.open{display:flex}" +
    "header{background:#2563eb;color:#fff;padding:12px;font-weight:600}" +
    ".log{flex:1;overflow-y:auto;padding:10px;display:flex;flex-direction:column;gap:6px}" +
    ".m{max-width:80%;padding:7px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}" +
    ".in{align-self:flex-end;background:#2563eb;color:#fff}.out{align-self:flex-start;" +
    "background:#f1f5f9;color:#111}.who{font-size:11px;opacity:.7}.note{font-size:12px;color:#555;padding:0 10px;word-break:keep-all}" +
    "form{display:flex;flex-direction:column;border-top:1px solid #e5e7eb;padding:8px;gap:6px}" +
    ".row{display:flex;gap:6px}input,textarea{flex:1;border:1px solid #cbd5e1;border-radius:6px;" +
    "padding:6px}textarea{resize:none;height:38px}button.send{border:0;border-radius:6px;" +
    "background:#2563eb;color:#fff;padding:0 12px;cursor:pointer}.human{margin:0 10px 6px;" +
    "border:1px solid #2563eb;border-radius:6px;background:#fff;color:#2563eb;padding:4px}" +
    ".hidden{display:none}.who{display:flex;align-items:center;gap:6px}" +
    ".av{width:22px;height:22px;border-radius:50%;flex:none;display:inline-flex;align-items:center;" +
    "justify-content:center;font-size:10px;font-weight:600;color:#fff;object-fit:cover}" +
    ".files{display:flex;flex-direction:column;gap:4px;margin-top:4px}" +
    ".thumb{display:block;max-width:180px;max-height:140px;border-radius:6px;cursor:pointer}" +
    ".file{color:inherit;text-decoration:underline;cursor:pointer;font-size:13px}" +
    "button.attach{border:1px solid #cbd5e1;border-radius:6px;background:#fff;cursor:pointer;" +
    "padding:0 8px;font-size:16px}";
  // A constructed sheet passes a host page's strict CSP (style-src without 'unsafe-inline');
  // browsers without one get a <style> element.
  if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;  // text only: nothing a message says becomes markup
    return node;
  }
  var bubble = el("button", "bubble", "💬");
  bubble.setAttribute("aria-label", t.open);
  var panel = el("div", "panel");
  panel.setAttribute("role", "dialog");
  panel.appendChild(el("header", "", t.title));
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var notice = el("div", "note hidden", t.offline);
  log.appendChild(notice);
  var form = el("form");
  var contact = el("div", "row hidden");
  var nameInput = el("input"); nameInput.placeholder = t.name; nameInput.maxLength = 200;
  var emailInput = el("input"); emailInput.type = "email"; emailInput.placeholder = t.email;
  emailInput.maxLength = 320;
  contact.appendChild(nameInput); contact.appendChild(emailInput);
  var row = el("div", "row");
  var input = el("textarea"); input.placeholder = t.placeholder; input.maxLength = 4000;
  var send = el("button", "send", t.send); send.type = "submit";
  var attach = el("button", "attach", "📎"); attach.type = "button";
  attach.setAttribute("aria-label", t.attach); attach.title = t.attach;
  var picker = el("input"); picker.type = "file"; picker.multiple = true;
  picker.className = "hidden";
  picker.accept = "image/png,image/jpeg,image/gif,image/webp,.pdf,.doc,.docx,.xls,.xlsx," +
    ".ppt,.pptx,.odt,.ods,.odp,.hwp,.txt,.csv";
  row.appendChild(attach); row.appendChild(picker);
  row.appendChild(input); row.appendChild(send);
  form.appendChild(contact); form.appendChild(row);
  var human = el("button", "human hidden", t.human);
  human.type = "button";
  var askedHuman = false;
  human.addEventListener("click", function () {
    askedHuman = true;
    human.classList.add("hidden");
    queue(t.humanText);
  });
  var typing = el("div", "note hidden", t.typing);
  var typingTimer = null;
  panel.appendChild(log); panel.appendChild(human); panel.appendChild(typing);
  panel.appendChild(form);
  root.appendChild(bubble); root.appendChild(panel);
  bubble.addEventListener("click", function () {
    panel.classList.toggle("open");
    bubble.setAttribute("aria-label", panel.classList.contains("open") ? t.close : t.open);
    if (panel.classList.contains("open")) { input.focus(); markRead(); }
  });
  (document.body || document.documentElement).appendChild(host);

  /* --- messages: shown once each, in id order, whatever path brought them --- */
  var seen = {};
  var cursor = 0;
  function show(m) {
    if (!m || seen[m.id]) return;
    seen[m.id] = true;
    if (m.id > cursor) cursor = m.id;
    var who = m.direction === "in" ? t.you : (m.author === "bot" ? t.bot : (m.agent_name || t.agent));
    var item = el("div", "m " + (m.direction === "in" ? "in" : "out"));
    var line = el("div", "who");
    if (m.direction === "out") line.appendChild(face(who, m.author === "agent" ? m.agent_avatar : null));
    line.appendChild(el("span", "", who));
    item.appendChild(line);
    if (m.text) item.appendChild(el("div", "", m.text));
    if (m.attachments && m.attachments.length) item.appendChild(files(m.attachments));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    if (m.direction === "out") { unread.push(m.id); markRead(); }
    // After the FAQ bot answers, one click asks for a person (the bot hands over on it).
    human.classList.toggle("hidden", askedHuman || !(m.direction === "out" && m.author === "bot"));
  }
  /* --- agents' faces: their avatar, else initials on a colour of their own --- */
  function initials(name) {
    var words = String(name || "?").trim().split(/\s+/);
    if (words.length > 1) return (words[0][0] + words[1][0]).toUpperCase();
    return /^[A-Za-z]/.test(words[0]) ? words[0].slice(0, 2).toUpperCase() : words[0].slice(0, 1);
  }
  function hue(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) % 360;
    return h;
  }
  function face(name, url) {
    var drawn = el("span", "av", initials(name));
    drawn.style.background = "hsl(" + hue(String(name)) + ",55%,45%)";
    drawn.setAttribute("aria-hidden", "true");
    if (!url || !/^https?:\/\//.test(url)) return drawn;
    var img = el("img", "av");
    img.alt = ""; img.referrerPolicy = "no-referrer"; img.src = url;
    img.addEventListener("error", function () { img.replaceWith(drawn); });  // blocked or gone
    return img;
  }

  /* --- files: fetched with the visitor's own identity, shown from blob URLs --- */
  function fileUrl(a) { return base + "/widget/attachments/" + a.id + "?" + query({}); }
  function fetchBlob(a) {
    return fetch(fileUrl(a)).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.blob();
    });
  }
  function saveFile(a) {
    fetchBlob(a).then(function (blob) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob); link.download = a.filename;
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    }).catch(function () {});
  }
  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }
  function files(list) {
    var box = el("div", "files");
    list.forEach(function (a) {
      if (a.image) {
        var img = el("img", "thumb");
        img.alt = a.filename; img.title = a.filename + " · " + t.download;
        fetchBlob(a).then(function (blob) { img.src = URL.createObjectURL(blob); })
          .catch(function () { img.replaceWith(el("span", "file", a.filename)); });
        img.addEventListener("click", function () { saveFile(a); });
        box.appendChild(img);
      } else {
        var link = el("a", "file", "📄 " + a.filename + " (" + size(a.size) + ")");
        link.href = "#"; link.title = t.download;
        link.addEventListener("click", function (ev) { ev.preventDefault(); saveFile(a); });
        box.appendChild(link);
      }
    });
    return box;
  }

  var unread = [];
  function markRead() {  // a reply counts as read once the open panel has shown it
    if (!panel.classList.contains("open") || !ws || ws.readyState !== 1) return;
    unread.splice(0).forEach(function (id) {
      ws.send(JSON.stringify({ type: "read", message_id: id }));
    });
  }
  function configure(c) {
    if (c.offline_form || c.prechat_form) contact.classList.remove("hidden");
    notice.classList.toggle("hidden", !c.offline_form);
  }

  /* --- transport: websocket, else polling --- */
  var ws = null, polling = null, failures = 0, pending = [];
  function connect() {
    var url = base.replace(/^http/, "ws") + "/widget/ws?" + query({ since: cursor });
    try { ws = new WebSocket(url); } catch (e) { return poll(); }
    var opened = false;
    ws.onopen = function () { opened = true; failures = 0; flush(); markRead(); };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "hello") { configure(f); (f.messages || []).forEach(show); }
      else if (f.type === "message") { typing.classList.add("hidden"); show(f.message); }
      else if (f.type === "typing") {
        typing.textContent = f.agent_name ? t.typingName.replace("{name}", f.agent_name) : t.typing;
        typing.classList.remove("hidden");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.classList.add("hidden"); }, 5000);
      }
      else if (f.type === "ack") {
        pending = pending.filter(function (p) { return p.id !== f.id; });
        show({ id: f.message_id, direction: "in", text: sentText[f.id] || "" });
      } else if (f.type === "error" && f.status === 429) log.appendChild(el("div", "note", t.tooMany));
    };
    ws.onclose = function () {
      ws = null;
      failures += 1;
      if (!opened && failures >= 2) return poll();  // blocked by a proxy: fall back to HTTP
      setTimeout(connect, Math.min(1000 * failures, 15000));
    };
  }
  function poll() {
    if (polling) return;
    fetch(base + "/widget/config?inbox=" + encodeURIComponent(token))
      .then(function (r) { return r.json(); }).then(configure).catch(function () {});
    polling = setInterval(function () {
      fetch(base + "/widget/messages?" + query({ since: cursor }))
        .then(function (r) { return r.json(); })
        .then(function (page) { (page.messages || []).forEach(show); })
        .catch(function () {});
      flush();
    }, 3000);
  }
  var sentText = {};
  function flush() {
    pending.forEach(function (p) {
      if (ws && ws.readyState === 1) {
        ws.send(JSON.stringify({ type: "message", id: p.id, text: p.text,
                                 email: p.email, name: p.name }));
      } else if (polling) {
        var body = identity();
        body.id = p.id; body.text = p.text; body.email = p.email; body.name = p.name;
        fetch(base + "/widget/messages?inbox=" + encodeURIComponent(token), {
          method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify(body)
        }).then(function (r) { return r.json(); }).then(function (a) {
          if (!a.message_id) return;
          pending = pending.filter(function (q) { return q.id !== p.id; });
          show({ id: a.message_id, direction: "in", text: p.text });
        }).catch(function () {});
      }
    });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    queue(text);
  });
  function queue(text) {
    var id = randomId();
    sentText[id] = text;
    // An unsigned email is only a claim: agents get a merge suggestion, the visitor no history.
    pending.push({ id: id, text: text, email: emailInput.value.trim() || undefined,
                   name: nameInput.value.trim() || undefined });
    flush();
  }
  /* --- uploads go over HTTP (the socket carries text); the answer is the stored message --- */
  var MAX_FILE = 10 * 1024 * 1024;
  function say(text) { log.appendChild(el("div", "note", text)); log.scrollTop = log.scrollHeight; }
  attach.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () {
    Array.prototype.slice.call(picker.files || [], 0, 5).forEach(upload);
    picker.value = "";
  });
  function upload(file) {
    if (file.size > MAX_FILE) return say(t.tooBig);
    var body = new FormData(), q = identity(), k;
    for (k in q) if (k !== "inbox") body.append(k, q[k]);
    body.append("id", randomId());
    if (emailInput.value.trim()) body.append("email", emailInput.value.trim());
    if (nameInput.value.trim()) body.append("name", nameInput.value.trim());
    body.append("file", file, file.name);
    var note = el("div", "note", t.uploading + " " + file.name);
    log.appendChild(note);
    fetch(base + "/widget/attachments?inbox=" + encodeURIComponent(token), { method: "POST", body: body })
      .then(function (r) {
        return r.json().then(function (a) { return { status: r.status, answer: a }; });
      }).then(function (res) {
        note.remove();
        if (res.answer.message) return show(res.answer.message);
        say(res.status === 413 ? t.tooBig : res.status === 415 ? t.badType :
            res.status === 429 ? t.tooMany : t.uploadFailed);
      }).catch(function () { note.remove(); say(t.uploadFailed); });
  }
  var typedAt = 0;
  var typingLater = null;
  function sendTyping() {
    typingLater = null;
    if (!ws || ws.readyState !== 1 || !input.value) return;
    typedAt = Date.now();
    ws.send(JSON.stringify({ type: "typing" }));
  }
  input.addEventListener("input", function () {  // agents see "… is typing", a few times a minute at most
    var wait = typedAt + 2500 - Date.now();
    if (wait <= 0) return sendTyping();
    // Typing that starts inside the quiet window is still told, once the window ends.
    if (!typingLater) typingLater = setTimeout(sendTyping, wait);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  connect();
})();
