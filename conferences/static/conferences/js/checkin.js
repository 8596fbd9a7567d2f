/* Scan a ticket's QR code with the phone camera where the browser can decode barcodes
   (BarcodeDetector: Chrome on Android). Elsewhere the panel stays hidden and staff type the
   code or search by name; a phone's own camera app also opens the QR link, which lands here. */
(function () {
  "use strict";
  var panel = document.querySelector("[data-checkin-scan]");
  if (!panel || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  panel.hidden = false;
  var video = panel.querySelector("[data-scan-video]");
  var start = panel.querySelector("[data-scan-start]");
  var detector = new window.BarcodeDetector({ formats: ["qr_code"] });

  function codeFrom(text) {
    text = text.trim();
    var match = /\/tickets\/([A-Z0-9]+)\/?$/.exec(text);
    if (match) return match[1];
    // The attendee's signed link (/conferences/t/<payload>:<signature>/): the payload is
    // base64url JSON holding the ticket code as "t". The server checks the code, not this.
    match = /\/t\/([A-Za-z0-9_-]+):[A-Za-z0-9_-]+\/?$/.exec(text);
    if (match) {
      try {
        var b64 = match[1].replace(/-/g, "+").replace(/_/g, "/");
        while (b64.length % 4) b64 += "=";
        var code = JSON.parse(window.atob(b64)).t;
        if (typeof code === "string") return code;
      } catch (e) { /* not one of ours: fall through */ }
    }
    return text;
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.hidden = false;
      video.srcObject = stream;
      video.play();
      var timer = setInterval(function () {
        detector.detect(video).then(function (codes) {
          if (!codes.length) return;
          clearInterval(timer);
          stream.getTracks().forEach(function (t) { t.stop(); });
          var url = new URL(window.location.href);
          url.search = "?code=" + encodeURIComponent(codeFrom(codes[0].rawValue));
          window.location.href = url.toString();
        });
      }, 300);
    });
  });
})();
