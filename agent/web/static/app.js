// Shared by the agent's pages: keeps the role token given once in the address
// (?token=…) and calls the local API with it.
(function () {
  const params = new URLSearchParams(location.search);
  const key = "motcua_token:" + location.pathname;
  if (params.get("token")) {
    localStorage.setItem(key, params.get("token"));
    localStorage.setItem("motcua_token", params.get("token"));
  }
  window.motcuaToken = function () {
    return localStorage.getItem(key) || localStorage.getItem("motcua_token") || "";
  };
  window.api = async function (path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({ "Authorization": "Bearer " + motcuaToken() }, opts.headers || {});
    if (opts.json !== undefined) {
      opts.method = opts.method || "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
    }
    const r = await fetch(path, opts);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const msg = (body && body.message) || ("Lỗi " + r.status);
      const err = new Error(msg); err.status = r.status; err.body = body; throw err;
    }
    return body;
  };
  window.esc = function (s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  };
})();
