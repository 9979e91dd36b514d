// The preference centre's time zone: a short list whose « autre » stands for the full
// list below it. Without JavaScript both work as they are (the server reads the full
// list when « autre » is chosen); this only keeps the two in step.
// A file rather than an inline script: the Content-Security-Policy allows no inline script.
document.querySelectorAll("[data-time-zone]").forEach(function (box) {
  var short = box.querySelector('select[name="time_zone"]');
  var other = box.querySelector('select[name="time_zone_other"]');
  var details = box.querySelector("details");
  if (!short || !other) return;
  short.addEventListener("change", function () {
    if (short.value === "autre") {
      if (details) details.open = true;
      other.focus();
    } else {
      other.value = "";
    }
  });
  other.addEventListener("change", function () {
    if (other.value) short.value = "autre";
  });
});
