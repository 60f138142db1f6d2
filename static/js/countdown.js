/* Live countdowns for deadlines.
 *
 * Every element with data-due="<ISO datetime>" shows the time left ("还剩 12:34") or the
 * time overdue ("已超时 03:10"), updated each second. The words come from data attributes
 * on <body> (translated by the server); the server's clock (data-server-now) corrects a
 * wrong clock in the browser. htmx swaps (the board refreshes every 30 s) re-run it at
 * once, and a swap that lands on the login page (session expired) reloads the page.
 */
(function () {
  "use strict";

  var body = document.body;
  var words = {
    left: body.getAttribute("data-countdown-left") || "{time}",
    overdue: body.getAttribute("data-countdown-overdue") || "-{time}",
    days: body.getAttribute("data-countdown-days") || "{days}d {time}",
  };
  var serverNow = Date.parse(body.getAttribute("data-server-now") || "");
  var clockOffset = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function duration(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    var time = (hours > 0 || days > 0 ? hours + ":" + pad(minutes) : pad(minutes)) + ":" + pad(seconds);
    return days > 0 ? words.days.replace("{days}", days).replace("{time}", time) : time;
  }

  function update(root) {
    var now = Date.now() + clockOffset;
    var elements = (root || document).querySelectorAll("[data-due]");
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) continue;
      var left = due - now;
      var overdue = left <= 0;
      el.textContent = (overdue ? words.overdue : words.left).replace("{time}", duration(left));
      el.classList.toggle("is-overdue", overdue);
      var scope = el.closest("[data-countdown-scope]");
      if (scope) scope.classList.toggle("is-overdue", overdue);
    }
  }

  update();
  window.setInterval(update, 1000);

  document.addEventListener("htmx:afterSwap", function (event) {
    update(event.detail && event.detail.target);
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/accounts/login/") !== -1) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });
})();
