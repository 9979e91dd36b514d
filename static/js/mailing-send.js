// Sending screen: the audience count follows the choices without saving; the date and
// time are asked only for « Programmer ».
(function () {
  "use strict";
  var form = document.getElementById("send-form");
  if (!form) { return; }
  var output = document.getElementById("live-count");
  var audience = ["lists", "profiles", "signed_up_after", "signed_up_before", "answer_contains"];
  var timer = null;
  var asked = 0;
  function query() {
    var data = new FormData(form);
    var params = new URLSearchParams();
    data.forEach(function (value, name) {
      if (audience.indexOf(name) !== -1) { params.append(name, value); }
    });
    return params.toString();
  }
  function refresh() {
    var ticket = ++asked;
    fetch(form.dataset.countUrl + "?" + query(), {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) { if (ticket === asked) { output.textContent = data.label; } })
      .catch(function () {});
  }
  function soon() { window.clearTimeout(timer); timer = window.setTimeout(refresh, 200); }
  form.addEventListener("change", function (event) {
    if (audience.indexOf(event.target.name) !== -1) { soon(); }
    toggle();
  });
  form.addEventListener("input", function (event) {
    if (event.target.name === "answer_contains") { soon(); }
  });
  var later = document.getElementById("send-later");
  function toggle() {
    var chosen = form.querySelector("input[name=when]:checked");
    later.hidden = !chosen || chosen.value !== "later";
  }
  toggle();
})();
