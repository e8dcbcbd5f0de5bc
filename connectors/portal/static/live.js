// Live state on the portal's pages: the server-sent events of /v1/events (the signed-in
// person's certificate events) update the state cells in place, without a reload.
(function () {
  "use strict";
  if (!document.querySelector("[data-live]") || !window.EventSource) return;
  var stream = new EventSource("/v1/events");
  function certificateLink(number) {
    var a = document.createElement("a");
    a.href = "/portal/certificates/" + encodeURIComponent(number);
    a.textContent = number;
    return a;
  }
  stream.addEventListener("certificate", function (message) {
    var event = JSON.parse(message.data);
    document.querySelectorAll('[data-app="' + CSS.escape(event.application_id) + '"]').forEach(function (holder) {
      var state = holder.querySelector('[data-field="state"]');
      if (state && event.state) {
        state.textContent = event.state;
        state.className = "state state-" + event.state;
      }
      var cert = holder.querySelector('[data-field="certificate"]');
      if (cert && event.certificate_number && !cert.querySelector("a")) {
        cert.textContent = "";
        cert.appendChild(certificateLink(event.certificate_number));
      }
      var history = document.querySelector("#history tbody");
      if (history && holder.id === "live") {
        var row = document.createElement("tr");
        [event.at.slice(0, 19), event.type, event.state || "", event.detail].forEach(function (text) {
          var cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        });
        history.appendChild(row);
      }
    });
  });
})();
