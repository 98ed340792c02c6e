// scn report page: follow a message across diagram and tables; filter the process table.
(function () {
  "use strict";
  var fates = {};
  document.querySelectorAll("#messages tbody tr").forEach(function (tr) {
    var c = tr.children;
    fates[c[2].textContent] = c[0].textContent + " (" + c[2].textContent + "): " + c[7].textContent +
      (c[8].textContent ? " - " + c[8].textContent : "") + "; in log at " + c[3].textContent;
  });
  var everything = Array.prototype.slice.call(document.querySelectorAll("[data-msgs]"));
  var box = document.getElementById("fate");
  var pinned = null;
  function msgsOf(el) {
    var m = el.getAttribute("data-msgs");
    return m ? m.split("|") : [];
  }
  function show(value) {
    document.body.classList.toggle("picking", value !== null);
    everything.forEach(function (el) {
      el.classList.toggle("hl", value !== null && msgsOf(el).indexOf(value) >= 0);
    });
    if (value === null) {
      box.hidden = true;
    } else {
      box.hidden = false;
      box.textContent = fates[value] || value + ": not in the messages table";
    }
  }
  everything.forEach(function (el) {
    var msgs = msgsOf(el);
    if (msgs.length === 0) return;
    el.addEventListener("mouseenter", function () { if (pinned === null) show(msgs[0]); });
    el.addEventListener("mouseleave", function () { if (pinned === null) show(null); });
    el.addEventListener("click", function () {
      pinned = pinned === msgs[0] ? null : msgs[0];
      show(pinned);
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { pinned = null; show(null); }
  });
  var actor = document.getElementById("actor-filter");
  var msg = document.getElementById("msg-filter");
  function filter() {
    var a = actor.value, m = msg.value.trim();
    document.querySelectorAll("#steps tbody tr[data-step]").forEach(function (tr) {
      var ok = (a === "" || tr.getAttribute("data-actor") === a) &&
        (m === "" || msgsOf(tr).some(function (v) { return v.indexOf(m) >= 0; }));
      tr.hidden = !ok;
    });
  }
  if (actor) { actor.addEventListener("change", filter); msg.addEventListener("input", filter); }
  // `report.html#msg=order3` opens with that message followed (a link to a message's fate);
  // `#actor=broker 1` (or both, joined by `&`) opens the process table filtered.
  (location.hash || "").slice(1).split("&").forEach(function (part) {
    var kv = part.split("="), value = decodeURIComponent(kv.slice(1).join("="));
    if (kv[0] === "msg") { pinned = value; show(pinned); }
    if (kv[0] === "actor" && actor) {
      actor.value = value;
      document.getElementById("process").open = true;
      filter();
    }
  });
  document.body.setAttribute("data-ready", "yes");
})();
