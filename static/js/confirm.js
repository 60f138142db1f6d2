/* Two taps for a step that cannot be undone: the button, then a confirmation.
 *
 * A button with data-confirm-url opens the page's own dialog (#confirm-dialog, in the
 * base layout) instead of following its link: the dialog says what will happen
 * (data-confirm-text) and posts data-confirm-fields (a query string) to
 * data-confirm-url with the page's own address as "next"; its primary button carries
 * data-confirm-label. Without JavaScript, or without <dialog>, the button stays a link
 * to a page that offers the same step. Clicks are caught on the document, so buttons
 * that htmx swaps in (the board refreshes every 30 s) work the same.
 */
(function () {
  "use strict";

  var dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var form = dialog.querySelector("form");
  var message = dialog.querySelector("[data-confirm-message]");
  var fields = dialog.querySelector("[data-confirm-fields]");
  var submit = dialog.querySelector("[data-confirm-submit]");
  var cancel = dialog.querySelector("[data-confirm-cancel]");
  var defaultLabel = submit.textContent;
  var opener = null;

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest ? event.target.closest("[data-confirm-url]") : null;
    if (!trigger) {
      return;
    }
    event.preventDefault();
    opener = trigger;
    form.setAttribute("action", trigger.getAttribute("data-confirm-url"));
    message.textContent = trigger.getAttribute("data-confirm-text") || "";
    submit.textContent = trigger.getAttribute("data-confirm-label") || defaultLabel;
    submit.disabled = false;
    fields.replaceChildren();
    new URLSearchParams(trigger.getAttribute("data-confirm-fields") || "").forEach(
      function (value, name) {
        fields.appendChild(hidden(name, value));
      }
    );
    dialog.showModal();
  });

  cancel.addEventListener("click", function () {
    dialog.close();
  });

  // One post per confirmation, however often the button is tapped.
  form.addEventListener("submit", function () {
    window.setTimeout(function () {
      submit.disabled = true;
    }, 0);
  });

  dialog.addEventListener("close", function () {
    if (opener && document.contains(opener)) {
      opener.focus();
    }
    opener = null;
  });
})();
