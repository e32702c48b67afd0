// The conversation page: the timeline opens at the newest messages, pages back as the agent
// scrolls up, and takes live messages and delivery statuses in place; the reply box sends on
// Enter; manage forms, retry and keyboard shortcuts work without reloading the page.
(function () {
  "use strict";
  const body = document.body;
  if (body.dataset.page !== "conversation") return;
  const conversationId = body.dataset.conversation;
  const customerId = body.dataset.customer;
  const scroller = document.getElementById("timeline");
  const base = "/conversations/" + conversationId;
  const json = { Accept: "application/json" };

  function list() { return scroller.querySelector("ol.timeline"); }
  function nearBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80; }
  function toBottom() { scroller.scrollTop = scroller.scrollHeight; }

  async function fragment(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const holder = document.createElement("template");
    holder.innerHTML = await response.text();
    return holder.content.querySelector("ol");
  }

  async function errorOf(response) {
    try { const data = await response.json(); return data.error || data.detail || response.statusText; }
    catch (e) { return response.status + " " + response.statusText; }
  }

  // --- Earlier history: keyset pages above the loaded ones, scroll position kept.
  let loading = false;
  async function loadEarlier() {
    const ol = list();
    if (loading || !ol || !ol.dataset.before) return;
    loading = true;
    const button = document.getElementById("load-earlier");
    try {
      const page = await fragment(base + "/timeline?before=" + encodeURIComponent(ol.dataset.before));
      const start = ol.querySelector("li.history-start");
      const firstDay = start.nextElementSibling;
      const items = Array.from(page.children).filter(function (li) {
        return !(li.id && document.getElementById(li.id));
      });
      const lastNew = items.filter(function (li) { return li.classList.contains("msg"); }).pop();
      // The older page ends on the day the loaded part starts with: one separator is enough.
      if (lastNew && firstDay && firstDay.classList.contains("day") && firstDay.dataset.day === lastNew.dataset.day) {
        firstDay.remove();
      }
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      start.after.apply(start, items);
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
      ol.dataset.before = page.dataset.before || "";
      ol.querySelector("li.earlier").hidden = !ol.dataset.before;
      start.hidden = Boolean(ol.dataset.before);
    } catch (e) {
      if (button) button.textContent = button.textContent;  // stays clickable for another try
    } finally {
      loading = false;
    }
    // A short page leaves nothing to scroll: keep filling until it scrolls or the start is here.
    if (list().dataset.before && scroller.scrollHeight <= scroller.clientHeight) loadEarlier();
  }
  scroller.addEventListener("scroll", function () { if (scroller.scrollTop < 150) loadEarlier(); });
  scroller.addEventListener("click", function (event) {
    if (event.target.closest("#load-earlier")) loadEarlier();
  });

  // --- Live: new messages are appended, changed ones replaced, by the server's own partial.
  const wanted = new Set();
  let timer = null;
  function want(id) {
    wanted.add(String(id));
    clearTimeout(timer);
    timer = setTimeout(fetchWanted, 40);
  }
  async function fetchWanted() {
    if (!wanted.size) return;
    const ids = Array.from(wanted).slice(0, 50);
    ids.forEach(function (id) { wanted.delete(id); });
    let page;
    try { page = await fragment(base + "/timeline?ids=" + ids.join(",")); }
    catch (e) { ids.forEach(function (id) { wanted.add(id); }); timer = setTimeout(fetchWanted, 1000); return; }
    const ol = list();
    const stick = nearBottom();
    Array.from(page.querySelectorAll("li.msg")).forEach(function (li) {
      const current = document.getElementById(li.id);
      if (current) { current.replaceWith(li); return; }
      const days = ol.querySelectorAll("li.day");
      const lastDay = days.length ? days[days.length - 1].dataset.day : null;
      if (lastDay !== li.dataset.day) {
        const separator = page.querySelector('li.day[data-day="' + li.dataset.day + '"]');
        if (separator) ol.append(separator);
      }
      ol.append(li);
    });
    if (stick) toBottom();
    if (wanted.size) fetchWanted();
  }

  const notice = document.createElement("p");
  notice.className = "page-notice";
  notice.hidden = true;
  notice.addEventListener("click", function () { window.location.reload(); });
  scroller.before(notice);

  document.addEventListener("inbox:frame", function (event) {
    const frame = event.detail;
    const p = frame.payload || {};
    if ((frame.type === "message.created" || frame.type === "message.updated") && String(p.customer_id) === customerId) {
      want(p.id);
      // A customer's message may bring a new identity or a merge suggestion with it, and a
      // new "last used" channel for the reply.
      if (frame.type === "message.created" && p.direction === "in") {
        refreshPanel();
        refreshReplyOptions();
      }
    } else if (frame.type === "conversation.updated" && String(p.id) === conversationId) {
      showConversation(p);
      refreshPanel();
    } else if (frame.type === "conversation.updated" && String(p.customer_id) === customerId) {
      refreshPanel();  // another of this customer's conversations changed
    } else if (frame.type === "customer.updated" && String(p.id) === customerId) {
      const title = document.querySelector(".thread h1");
      if (title && p.name && title.firstChild) title.firstChild.textContent = p.name + " ";
      refreshPanel();
    } else if ((frame.type === "customer.merged" || frame.type === "customer.unmerged") &&
               (String(p.survivor_id) === customerId || String(p.merged_id) === customerId)) {
      notice.textContent = scroller.dataset.changed || "";
      notice.hidden = false;
      refreshPanel();
    }
  });

  // --- The customer panel's attributes and other conversations, re-rendered by the server.
  let panelTimer = null;
  function refreshPanel() {
    clearTimeout(panelTimer);  // a burst of frames makes one request
    panelTimer = setTimeout(async function () {
      const holder = document.getElementById("customer-live");
      if (!holder) return;
      const response = await fetch("/conversations/" + conversationId + "/customer-panel",
                                   { credentials: "same-origin" });
      if (response.ok) holder.innerHTML = await response.text();
    }, 150);
  }

  // --- "Send via": the customer's channels, last used first. An agent's explicit choice of an
  // inbox survives the refresh; the default ("last used") follows the customer.
  let replyTimer = null;
  function refreshReplyOptions() {
    clearTimeout(replyTimer);
    replyTimer = setTimeout(async function () {
      const holder = document.getElementById("reply-to-live");
      if (!holder) return;
      const response = await fetch(base + "/reply-options", { credentials: "same-origin" });
      if (!response.ok) return;
      const before = document.getElementById("reply-channel");
      const picked = before && before.value ? before.value : "";
      holder.innerHTML = await response.text();
      const picker = document.getElementById("reply-channel");
      if (picker && picked) {
        const same = picker.querySelector('option[data-inbox="' + picked + '"]');
        if (same) picker.value = same.value;
      }
      document.dispatchEvent(new CustomEvent("inbox:reply-options"));
    }, 150);
  }

  // --- Status, assignee, snooze as the server says they are now.
  function showConversation(c) {
    const status = document.getElementById("conv-status");
    if (!status) return;
    const labels = JSON.parse(status.dataset.labels || "{}");
    status.textContent = labels[c.status] || c.status;
    status.className = "status st-" + c.status;
    const snoozed = document.getElementById("conv-snoozed");
    snoozed.hidden = !(c.status === "snoozed" && c.snoozed_until);
    if (!snoozed.hidden) {
      const time = snoozed.querySelector("time");
      time.dateTime = c.snoozed_until;
      // Shown in the agent's zone, as the server renders it ("sv-SE" gives YYYY-MM-DD HH:MM).
      const zone = snoozed.dataset.timeZone || "UTC";
      const shown = new Intl.DateTimeFormat("sv-SE", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit",
      }).format(new Date(c.snoozed_until));
      time.textContent = shown + " " + zone;
    }
    const assignee = document.getElementById("conv-assignee");
    const option = document.querySelector('#assign-select option[value="' + c.assignee_id + '"]');
    assignee.textContent = c.assignee_id == null ? assignee.dataset.nobody :
      (option ? option.dataset.name : "#" + c.assignee_id);
    const select = document.querySelector("#manage-form select[name=status]");
    if (select && c.status !== "snoozed") select.value = c.status;
  }

  function localNow() {
    // The agent's zone (the server reads the input in it), as a datetime-local value.
    const holder = document.getElementById("conv-snoozed");
    const zone = (holder && holder.dataset.timeZone) || "UTC";
    return new Intl.DateTimeFormat("sv-SE", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    }).format(new Date()).replace(" ", "T");
  }
  const snoozeInput = document.getElementById("snooze-until");
  if (snoozeInput) snoozeInput.min = localNow();

  const manageError = document.getElementById("manage-error");
  async function post(form) {
    const data = new FormData(form);
    if (form.id === "snooze-form") {
      const chosen = new Date(form.snooze_until.value);  // read as local time
      data.set("tz_offset", String(isNaN(chosen) ? new Date().getTimezoneOffset() : chosen.getTimezoneOffset()));
    }
    const response = await fetch(form.action, {
      method: "POST", body: new URLSearchParams(data), headers: json, credentials: "same-origin",
    });
    if (!response.ok) throw new Error(await errorOf(response));
    return response.json();
  }
  document.querySelectorAll("form[data-async]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      manageError.hidden = true;
      try {
        showConversation(await post(form));
        if (form.id === "manage-form") form.assign.value = "";
      } catch (e) {
        manageError.textContent = e.message;
        manageError.hidden = false;
      }
    });
  });

  // --- Retry a failed reply; the message.updated frame redraws it as queued.
  scroller.addEventListener("submit", async function (event) {
    const form = event.target.closest("form.retry");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    const response = await fetch(form.action, {
      method: "POST", body: new URLSearchParams(new FormData(form)), headers: json, credentials: "same-origin",
    });
    if (response.ok) { want((await response.json()).id); return; }
    button.disabled = false;
    form.querySelector(".error").textContent = await errorOf(response);
  });

  // --- Reply box: Enter sends, Shift+Enter is a new line; never mid-composition (Korean IME).
  const reply = document.querySelector("form.reply");
  const text = reply && reply.querySelector("textarea[name=text]");
  const replyError = document.getElementById("reply-error");
  let sending = false;
  async function send() {
    const files = reply.querySelector("input[type=file]");
    const hasFiles = files && files.files && files.files.length > 0;
    if (sending || (!text.value.trim() && !hasFiles)) return;
    sending = true;
    const button = reply.querySelector("button[type=submit]");
    button.disabled = true;
    const data = new FormData(reply);
    const payload = reply.enctype === "multipart/form-data" ? data : new URLSearchParams(data);
    try {
      // The handler answers a stored reply with a redirect; following it would render the page.
      const response = await fetch(reply.action, {
        method: "POST", body: payload, headers: json, credentials: "same-origin", redirect: "manual",
      });
      if (response.type === "opaqueredirect" || response.ok) {
        text.value = "";
        if (files) files.value = "";
        const note = reply.querySelector("input[name=private]");
        if (note) note.checked = false;
        replyError.hidden = true;
        text.dispatchEvent(new Event("input", { bubbles: true }));
        toBottom();
      } else {
        replyError.textContent = await errorOf(response);
        replyError.hidden = false;
      }
    } catch (e) {
      replyError.textContent = e.message;
      replyError.hidden = false;
    } finally {
      sending = false;
      button.disabled = false;
      text.focus();
    }
  }
  if (reply && text) {
    reply.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    // On the form, so pickers listening on the textarea itself (canned replies) see Enter first.
    reply.addEventListener("keydown", function (event) {
      if (event.target !== text || event.key !== "Enter" || event.defaultPrevented) return;
      if (event.isComposing || event.keyCode === 229) return;
      if (event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
      event.preventDefault();
      send();
    });
  }

  // --- Keyboard shortcuts, never while typing in a field.
  const help = document.getElementById("shortcut-help");
  const toggle = document.getElementById("shortcut-toggle");
  function toggleHelp() { help.hidden = !help.hidden; }
  if (toggle) toggle.addEventListener("click", toggleHelp);
  function submit(id) {
    const form = document.getElementById(id);
    if (form) form.requestSubmit();
  }
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const actions = {
      r: function () { if (text) text.focus(); },
      e: function () { submit("resolve-form"); },
      a: function () { submit("assign-me-form"); },
      z: function () { if (snoozeInput) { snoozeInput.focus(); snoozeInput.scrollIntoView({ block: "center" }); } },
      "?": toggleHelp,
      Escape: function () { if (help) help.hidden = true; },
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  toBottom();
  if (list() && list().dataset.before && scroller.scrollHeight <= scroller.clientHeight) loadEarlier();
})();
