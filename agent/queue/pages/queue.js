// Shared by the queue pages: the words every queue page uses (ticket states, times,
// durations), the site's clock and the event stream. Each page keeps its own texts in
// one TEXT table at the top of its script.
(function () {
  const STATES = { waiting: "Đang chờ", called: "Đang được gọi", serving: "Đang phục vụ", done: "Đã xong",
    noshow: "Vắng mặt", cancelled: "Đã hủy" };
  window.stateName = function (s) { return STATES[s] || ""; };

  // The site's offset from UTC in minutes (the agent says it); the browser's own zone
  // is never used, so a TV or kiosk set to another zone still shows Vietnam time.
  let offsetMin = 7 * 60;
  window.setSiteOffset = function (m) { if (typeof m === "number") offsetMin = m; };
  function site(d) { return new Date((d instanceof Date ? d.getTime() : Date.parse(d)) + offsetMin * 60000); }
  const two = n => String(n).padStart(2, "0");
  // "09:05"
  window.siteTime = function (d) { const x = site(d || new Date()); return two(x.getUTCHours()) + ":" + two(x.getUTCMinutes()); };
  // "02/12/2026"
  window.siteDate = function (d) { const x = site(d || new Date()); return two(x.getUTCDate()) + "/" + two(x.getUTCMonth() + 1) + "/" + x.getUTCFullYear(); };
  // "2026-12-02" (a day as the API names it) → "02/12/2026"
  window.dayVI = function (day) { const p = String(day || "").split("-"); return p.length === 3 ? p[2] + "/" + p[1] + "/" + p[0] : ""; };
  // Durations in words: "vừa xong", "45 giây", "3 phút", "1 giờ 20 phút".
  window.durationVI = function (sec) {
    sec = Math.round(sec || 0);
    if (sec < 1) return "0 giây";
    if (sec < 60) return sec + " giây";
    const m = Math.round(sec / 60), h = Math.floor(m / 60);
    return h ? h + " giờ" + (m % 60 ? " " + (m % 60) + " phút" : "") : m + " phút";
  };
  // Decimal comma, thousands dot: 1.234,5
  window.numberVI = function (x, digits) {
    const s = Number(x || 0).toFixed(digits || 0), parts = s.split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ".") + (parts[1] ? "," + parts[1] : "");
  };
  // Fills every [data-t] element with its text from a page's TEXT table.
  window.applyText = function (TEXT) {
    document.querySelectorAll("[data-t]").forEach(el => { el.textContent = TEXT[el.dataset.t] || ""; });
  };
  // Calls onMessage with each queue message; reconnects after an error and tells
  // onState(true|false) whether the agent is reachable. A page with the identity panel
  // passes the panel: it hears of its counter's changes on this one stream (a browser
  // holds at most six connections to the agent, and a hall's consoles share one).
  window.queueStream = function (onMessage, onState, panel) {
    let es;
    function open() {
      es = new EventSource("/api/v1/stream?topics=queue" + (panel ? ",identity.panel" : "") +
        "&token=" + encodeURIComponent(motcuaToken()));
      es.onopen = function () { if (onState) onState(true); if (panel) panel.changed(); };
      es.addEventListener("queue", function (e) { try { onMessage(JSON.parse(e.data).data); } catch (x) {} });
      if (panel) es.addEventListener("identity.panel", function (e) { try { panel.changed(JSON.parse(e.data).data.counter); } catch (x) {} });
      es.onerror = function () { es.close(); if (onState) onState(false); setTimeout(open, 3000); };
    }
    open();
  };
})();
