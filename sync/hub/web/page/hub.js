// A nicety only: the filters apply as soon as one is chosen. Without script the
// "Xem" button does the same. Choosing a wider place clears the narrower ones.
(function () {
  var form = document.getElementById("filters");
  if (!form) return;
  var order = ["province", "commune", "site", "counter"];
  form.addEventListener("change", function (ev) {
    var i = order.indexOf(ev.target.name);
    if (i >= 0) {
      order.slice(i + 1).forEach(function (name) {
        var el = form.elements[name];
        if (el) el.value = "";
        if (el && el.type === "hidden") el.remove();
      });
    }
    form.submit();
  });
})();
