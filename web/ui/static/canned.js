// Canned replies in the reply box: "/" and a shortcut open a picker; arrows move, Enter or Tab
// inserts the reply (its variables filled by the server for this conversation), Esc closes.
(function () {
  "use strict";
  const picker = document.getElementById("canned-picker");
  const text = document.querySelector("form.reply textarea[name=text]");
  if (!picker || !text) return;
  // "/word" right before the caret, at the start or after a space: the word is the shortcut typed so far.
  const TRIGGER = /(^|\s)\/([\p{L}\p{N}_-]{0,32})$/u;
  let items = [];
  let chosen = 0;
  let query = null;
  let timer = null;
  let asked = 0;

  function typed() {
    if (text.selectionStart !== text.selectionEnd) return null;
    const found = TRIGGER.exec(text.value.slice(0, text.selectionStart));
    return found ? found[2] : null;
  }

  function close() {
    picker.hidden = true;
    picker.replaceChildren();
    items = [];
    query = null;
    text.removeAttribute("aria-activedescendant");
  }

  function render() {
    picker.replaceChildren();
    if (!items.length) {
      const empty = document.createElement("div");
      empty.className = "canned-empty";
      empty.textContent = picker.dataset.empty;
      picker.append(empty);
    }
    items.forEach(function (item, index) {
      const row = document.createElement("div");
      row.className = "canned-item" + (index === chosen ? " on" : "");
      row.id = "canned-item-" + index;
      row.setAttribute("role", "option");
      row.setAttribute("aria-selected", index === chosen ? "true" : "false");
      const head = document.createElement("strong");
      head.textContent = "/" + item.shortcut;
      const title = document.createElement("span");
      title.textContent = item.title;
      const preview = document.createElement("small");
      preview.textContent = item.text;
      row.append(head, title, preview);
      // mousedown, not click: the textarea keeps its focus and caret.
      row.addEventListener("mousedown", function (event) { event.preventDefault(); insert(index); });
      picker.append(row);
    });
    const manage = document.createElement("a");
    manage.className = "canned-manage";
    manage.href = "/canned-replies";
    manage.textContent = picker.dataset.manage;
    picker.append(manage);
    picker.hidden = false;
    if (items.length) text.setAttribute("aria-activedescendant", "canned-item-" + chosen);
  }

  async function lookUp(word) {
    const ticket = ++asked;
    const url = picker.dataset.url + "?q=" + encodeURIComponent(word);
    const response = await fetch(url, { credentials: "same-origin" });
    if (ticket !== asked || query !== word) return; // the agent typed on meanwhile
    if (!response.ok) { close(); return; }
    items = (await response.json()).items;
    chosen = 0;
    render();
  }

  function insert(index) {
    const item = items[index];
    if (!item) return;
    const caret = text.selectionStart;
    const start = caret - (query || "").length - 1; // the "/" itself goes too
    text.setRangeText(item.text, start, caret, "end");
    close();
    text.focus();
    text.dispatchEvent(new Event("input", { bubbles: true })); // SMS counter and friends
  }

  function update() {
    const word = typed();
    if (word === null) { if (query !== null) close(); return; }
    if (word === query) return;
    query = word;
    clearTimeout(timer);
    timer = setTimeout(function () { lookUp(word); }, 80);
  }

  text.addEventListener("input", update);
  text.addEventListener("click", update);
  text.addEventListener("blur", function () { setTimeout(close, 150); });
  // On the textarea: the reply form's own Enter-sends handler sees defaultPrevented and stays put.
  text.addEventListener("keydown", function (event) {
    if (picker.hidden || event.isComposing) return;
    if (event.key === "Escape") { event.preventDefault(); close(); return; }
    if (!items.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      chosen = (chosen + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      render();
    } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      event.preventDefault();
      insert(chosen);
    }
  });
})();
