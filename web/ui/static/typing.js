// "<customer> is typing…" in the conversation view: shown on the widget's typing notices,
// hidden a few seconds later or as soon as the customer's message arrives.
(function () {
  "use strict";
  const body = document.body;
  const line = document.getElementById("customer-typing");
  if (!line || body.dataset.page !== "conversation") return;
  let timer = null;
  function hide() { clearTimeout(timer); line.hidden = true; }
  document.addEventListener("inbox:frame", function (event) {
    const frame = event.detail || {};
    const p = frame.payload || {};
    if (String(p.conversation_id) !== body.dataset.conversation) return;
    if (frame.type === "typing" && p.author === "customer") {
      line.textContent = line.dataset.text;
      line.hidden = false;
      clearTimeout(timer);
      timer = setTimeout(hide, 6000);
    } else if (frame.type === "message.created" && p.direction === "in") {
      hide();
    }
  });
})();
