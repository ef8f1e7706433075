// Shared by the queue pages: Vietnamese names of ticket states and the event stream.
(function () {
  window.stateName = function (s) {
    return ({ waiting: "Đang chờ", called: "Đang được gọi", serving: "Đang phục vụ", done: "Đã phục vụ xong",
      noshow: "Vắng mặt", cancelled: "Đã huỷ" })[s] || s;
  };
  // Calls onMessage with each queue message; reconnects after an error.
  window.queueStream = function (onMessage) {
    let es;
    function open() {
      es = new EventSource("/api/v1/stream?topics=queue&token=" + encodeURIComponent(motcuaToken()));
      es.addEventListener("queue", function (e) { try { onMessage(JSON.parse(e.data).data); } catch (x) {} });
      es.onerror = function () { es.close(); setTimeout(open, 3000); };
    }
    open();
  };
})();
