// The dates and hours on these admin pages are not the server's: a mailing's are in the
// time zone chosen beside them (or in each reader's), a step's sending window is in each
// reader's. Django's note comparing the browser's clock with the server's would mislead
// there, so it is left out (its calendar and clock shortcuts still work).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  delete document.body.dataset.adminUtcOffset;
});
