// The console's one script, served by the admin function (no CDN, no inline code: the
// Content-Security-Policy allows scripts from the function only).
//
// A full page load cannot carry an Authorization header, and API Gateway's JWT
// authorizer reads nothing else. So every page address serves the same public shell,
// which holds no data, and this script loads the view itself from /admin/x/... with
// the operator's token (kept in this tab's sessionStorage) as a bearer token. Links and
// forms are followed the same way; the history and the address bar stay as if they
// were ordinary pages. A 401 sends the operator to the login page.
(function () {
  "use strict";
  var KEY = "queuefirst-admin-token";
  var BASE = "/admin";
  var POLL_MS = 500;
  var main = document.getElementById("main");

  function token() { return sessionStorage.getItem(KEY); }

  function fragmentUrl(path) {
    var url = new URL(path, location.href);
    var rest = url.pathname.slice(BASE.length).replace(/^\/$/, "");
    return BASE + "/x" + (rest || "/home") + url.search;
  }

  function safeNext(next) {
    // Only the console's own pages: never another origin, never a protocol-relative path.
    return next && next.indexOf(BASE + "/") === 0 && next.indexOf("//") !== 0 && next.indexOf(BASE + "/login") !== 0
      ? next : BASE + "/";
  }

  function toLogin() {
    sessionStorage.removeItem(KEY);
    location.assign(BASE + "/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  function send(method, url, body) {
    var headers = { "Authorization": "Bearer " + token(), "Accept": "text/html" };
    if (body !== undefined) { headers["Content-Type"] = "application/x-www-form-urlencoded"; }
    return fetch(url, { method: method, headers: headers, body: body, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { toLogin(); throw new Error("signed out"); }
        return response;
      });
  }

  function show(html, focus) {
    main.innerHTML = html;
    var root = main.firstElementChild;
    var title = root && root.getAttribute("data-title");
    document.title = (title ? title + " · " : "") + document.title.split(" · ").pop();
    if (focus) {
      var heading = main.querySelector("h1");
      (heading || main).setAttribute("tabindex", "-1");
      (heading || main).focus();
    }
    main.querySelectorAll("[data-poll]").forEach(poll);
  }

  function failed(error) {
    if (error.message !== "signed out") {
      show('<section data-title="Unreachable"><h1>Unreachable</h1><p class="error" role="alert"></p></section>', true);
      main.querySelector(".error").textContent = "The console could not be reached: " + error.message;
    }
  }

  function load(path, push) {
    return send("GET", fragmentUrl(path)).then(function (response) {
      return response.text().then(function (html) {
        if (push) { history.pushState({}, "", path); }
        show(html, push);
      });
    }).catch(failed);
  }

  function poll(element) {
    setTimeout(function () {
      if (!element.isConnected) { return; }
      send("GET", element.getAttribute("data-poll")).then(function (response) {
        return response.text();
      }).then(function (html) {
        if (!element.isConnected) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.firstElementChild;
        if (!fresh) { return; }
        element.replaceWith(fresh);
        if (fresh.hasAttribute("data-poll")) { poll(fresh); }
      }).catch(function () { if (element.isConnected) { poll(element); } });
    }, POLL_MS);
  }

  function consoleLink(anchor) {
    return anchor && anchor.origin === location.origin && anchor.pathname.indexOf(BASE) === 0 &&
      anchor.pathname.indexOf(BASE + "/static/") !== 0 && anchor.pathname !== BASE + "/login" &&
      !anchor.hasAttribute("download") && anchor.target === "";
  }

  function submit(event) {
    var form = event.target;
    event.preventDefault();
    var data = new URLSearchParams(new FormData(form, event.submitter || undefined));
    var action = new URL(form.getAttribute("action") || location.pathname, location.href);
    if ((form.getAttribute("method") || "get").toLowerCase() === "get") {
      data.forEach(function (value, name) { if (value === "") { data.delete(name); } });
      var query = data.toString();
      load(action.pathname + (query ? "?" + query : ""), true);
      return;
    }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    send("POST", fragmentUrl(action.pathname), data.toString()).then(function (response) {
      var path = response.headers.get("X-Admin-Path");
      return response.text().then(function (html) {
        if (path) { history.pushState({}, "", path); }
        show(html, true);
      });
    }).catch(failed).finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  }

  function startLogin() {
    var form = document.getElementById("login");
    var error = document.getElementById("login-error");
    var next = safeNext(new URLSearchParams(location.search).get("next"));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = form.elements.token.value.trim().replace(/^Bearer\s+/i, "");
      sessionStorage.setItem(KEY, value);
      fetch(BASE + "/x/whoami", { headers: { "Authorization": "Bearer " + value }, credentials: "omit", cache: "no-store" })
        .then(function (response) {
          if (response.ok) { location.assign(next); return; }
          sessionStorage.removeItem(KEY);
          error.textContent = response.status === 401
            ? "This token does not open the console: it is expired, malformed, or not an operator's."
            : "Sign-in failed (HTTP " + response.status + ").";
          error.hidden = false;
          form.elements.token.focus();
        })
        .catch(function (e) { error.textContent = "The console could not be reached: " + e.message; error.hidden = false; });
    });
  }

  function startShell() {
    if (!token()) { toLogin(); return; }
    document.addEventListener("click", function (event) {
      var anchor = event.target.closest("a");
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
          event.altKey || !consoleLink(anchor)) { return; }
      event.preventDefault();
      load(anchor.pathname + anchor.search, true);
    });
    document.addEventListener("submit", submit);
    window.addEventListener("popstate", function () { load(location.pathname + location.search, false); });
    document.getElementById("sign-out").addEventListener("click", function () {
      sessionStorage.removeItem(KEY);
      location.assign(BASE + "/login");
    });
    send("GET", BASE + "/x/whoami").then(function (r) { return r.text(); }).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      document.getElementById("operator-name").textContent = holder.textContent.trim();
    }).catch(function () {});
    load(location.pathname + location.search, false);
  }

  if (document.body.getAttribute("data-page") === "login") { startLogin(); } else { startShell(); }
})();
