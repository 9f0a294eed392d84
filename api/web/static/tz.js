// The reader's time zone for the server's pages: the browser's zone in the rf_tz cookie, unless one is already
// there (chosen on the inbox or set before). Pages read it on the next request (api/web/zones.py).
(function () {
  "use strict";
  if (/(?:^|;\s*)rf_tz=/.test(document.cookie)) return;
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) return;
  document.cookie = "rf_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
  var shown = document.getElementById("tz-name");
  if (shown && shown.textContent !== zone) window.location.reload();  // the inbox: show its times in the zone now
})();
