// Mailing admin: confirm before cancelling; refresh the progress by itself while the
// mailing is scheduled, sending or paused (and the whole page when its status changes).
(function () {
  "use strict";
  var cancel = document.getElementById("mailing-cancel-form");
  if (cancel) {
    cancel.addEventListener("submit", function (event) {
      if (!window.confirm(cancel.dataset.confirm)) { event.preventDefault(); }
    });
  }
  var box = document.getElementById("mailing-progress");
  if (!box || !box.dataset.live) { return; }
  function set(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var bar = document.getElementById("progress-bar");
        bar.max = data.total; bar.value = data.sent;
        set("progress-sent", data.sent); set("progress-total", data.total);
        set("progress-failed", data.failed); set("progress-skipped", data.skipped);
        set("progress-cancelled", data.cancelled); set("progress-remaining", data.remaining);
        set("mailing-status", data.status);
        set("progress-paused", data.paused);
        // Scheduled → sending → sent, or paused elsewhere: the page shows other buttons.
        if (data.status_code !== box.dataset.status) { window.location.reload(); return; }
        window.setTimeout(refresh, 2000);
      })
      .catch(function () { window.setTimeout(refresh, 5000); });
  }
  window.setTimeout(refresh, 2000);
})();
