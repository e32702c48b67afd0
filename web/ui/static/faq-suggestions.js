// Reply box: the top FAQ matches for the customer's latest message; a click inserts the answer.
(function () {
  "use strict";
  const box = document.getElementById("faq-suggestions");
  const form = box && box.closest("form");
  const textarea = form && form.querySelector("textarea[name=text]");
  if (!box || !textarea) return;
  const conversation = document.body.dataset.conversation;
  let latest = null;

  function insert(answer) {
    const start = textarea.selectionStart, end = textarea.selectionEnd;
    textarea.setRangeText(answer, start, end, "end");
    textarea.focus();
    // Other reply-box scripts (SMS segment count) listen for input.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function render(items) {
    box.replaceChildren();
    if (!items.length) { box.hidden = true; return; }
    const label = document.createElement("span");
    label.className = "faq-label";
    label.textContent = box.dataset.label;
    box.append(label);
    for (const item of items) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "faq-suggestion";
      button.dataset.entry = item.id;
      button.title = box.dataset.insert + ": " + item.answer;
      button.textContent = item.question;
      const score = document.createElement("small");
      score.textContent = Math.round(item.score * 100) + "%";
      button.append(score);
      button.addEventListener("click", function () { insert(item.answer); });
      box.append(button);
    }
    box.hidden = false;
  }

  async function load() {
    const response = await fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    if (data.message_id === latest) return;
    latest = data.message_id;
    render(data.items || []);
  }

  // A new customer message in this conversation brings new suggestions.
  document.addEventListener("inbox:frame", function (event) {
    const frame = event.detail || {};
    const p = frame.payload || {};
    if (frame.type === "message.created" && p.direction === "in" && String(p.conversation_id) === conversation) load();
  });
  load();
})();
