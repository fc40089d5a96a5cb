/* feedsvc embed: headlines of a feed on any page.
 *
 *   <script src="https://feeds.example/embed.js" data-feed="/topics/ai/feed.json"
 *           data-limit="5" async></script>
 *
 * Reads the JSON Feed over CORS and builds the list with DOM calls and textContent
 * only: nothing from the feed is ever parsed as HTML. data-feed is resolved against
 * this script's own URL. Optional: data-target="id" to fill an element of the host
 * page instead of inserting after the script; data-css="none" to skip the default
 * style. The default style has zero specificity (:where), so any host rule wins,
 * and is a constructed stylesheet, not a <style> element or style attribute, so it
 * needs no 'unsafe-inline' in the host's CSP.
 */
(function () {
  "use strict";

  var MAX_LIMIT = 50;
  var CSS = [
    ":where(.feedsvc-embed){font:inherit;max-width:32rem}",
    ":where(.feedsvc-embed .feedsvc-list){list-style:none;margin:0;padding:0}",
    ":where(.feedsvc-embed .feedsvc-item){display:flex;gap:.75em;align-items:flex-start;padding:.5em 0;border-bottom:1px solid rgba(128,128,128,.3)}",
    ":where(.feedsvc-embed .feedsvc-thumb){flex:none;width:5em;height:3.75em;object-fit:cover;border-radius:4px;background:rgba(128,128,128,.15)}",
    ":where(.feedsvc-embed .feedsvc-link){font-weight:600;text-decoration:none;line-height:1.3}",
    ":where(.feedsvc-embed .feedsvc-link:hover){text-decoration:underline}",
    ":where(.feedsvc-embed .feedsvc-date){display:block;font-size:.85em;opacity:.75;margin-top:.2em}",
    ":where(.feedsvc-embed .feedsvc-source){font-size:.85em;margin:.5em 0 0}",
  ].join("\n");
  var STYLE_KEY = typeof Symbol === "function" ? Symbol.for("feedsvc.embed.css") : "__feedsvcEmbedCss";

  function findScript() {
    if (document.currentScript) return document.currentScript;
    // Very old browsers: the first of our tags not yet handled.
    var tags = document.querySelectorAll("script[data-feed]:not([data-feedsvc-done])");
    for (var i = 0; i < tags.length; i++) {
      if (/\/embed\.js(\?|#|$)/.test(tags[i].src)) return tags[i];
    }
    return null;
  }

  function httpUrl(value, base) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, base);
      return url.protocol === "https:" || url.protocol === "http:" ? url : null;
    } catch (e) {
      return null;
    }
  }

  function el(name, className, text) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function addStyle() {
    if (document[STYLE_KEY] || !("adoptedStyleSheets" in document)) return;
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
      document[STYLE_KEY] = true;
    } catch (e) {
      // Unstyled is still readable.
    }
  }

  function thumbnail(item, base) {
    var src = httpUrl(item.image, base);
    var alt = "";
    var attachments = Array.isArray(item.attachments) ? item.attachments : [];
    for (var i = 0; i < attachments.length; i++) {
      var a = attachments[i] || {};
      if (!/^image\//.test(a.mime_type || "")) continue;
      var url = httpUrl(a.url, base);
      if (!url) continue;
      if (!src) src = url;
      if (url.href === src.href) {
        if (typeof a.title === "string") alt = a.title;
        break;
      }
    }
    if (!src) return null;
    var img = el("img", "feedsvc-thumb");
    img.src = src.href;
    img.alt = alt;
    img.loading = "lazy";
    img.decoding = "async";
    img.referrerPolicy = "no-referrer";
    return img;
  }

  function dateOf(item) {
    var value = item.date_published || item.date_modified;
    if (typeof value !== "string") return null;
    var date = new Date(value);
    if (isNaN(date.getTime())) return null;
    var time = el("time", "feedsvc-date", date.toLocaleDateString(undefined, {
      year: "numeric", month: "short", day: "numeric",
    }));
    time.dateTime = date.toISOString();
    return time;
  }

  function renderItem(item, base) {
    var li = el("li", "feedsvc-item");
    var img = thumbnail(item, base);
    if (img) li.appendChild(img);
    var text = el("div", "feedsvc-text");
    var title = typeof item.title === "string" && item.title ? item.title
      : typeof item.summary === "string" ? item.summary : "Untitled";
    var href = httpUrl(item.url, base);
    var link = el(href ? "a" : "span", "feedsvc-link", title);
    if (href) {
      link.href = href.href;
      link.rel = "noopener";
    }
    text.appendChild(link);
    var time = dateOf(item);
    if (time) text.appendChild(time);
    li.appendChild(text);
    return li;
  }

  function render(box, feed, feedUrl, limit) {
    var items = Array.isArray(feed.items) ? feed.items.slice(0, limit) : [];
    var list = el("ul", "feedsvc-list");
    for (var i = 0; i < items.length; i++) {
      if (items[i] && typeof items[i] === "object") list.appendChild(renderItem(items[i], feedUrl));
    }
    box.replaceChildren(list);
    var home = httpUrl(feed.home_page_url, feedUrl);
    if (home && typeof feed.title === "string") {
      var source = el("p", "feedsvc-source");
      var link = el("a", null, feed.title);
      link.href = home.href;
      source.appendChild(link);
      box.appendChild(source);
    }
    box.setAttribute("aria-busy", "false");
  }

  function fail(box, feedUrl) {
    var p = el("p", "feedsvc-error");
    var link = el("a", null, "Open the feed");
    link.href = feedUrl.href;
    p.appendChild(link);
    box.replaceChildren(p);
    box.setAttribute("aria-busy", "false");
  }

  function start() {
    var script = findScript();
    if (!script || script.hasAttribute("data-feedsvc-done")) return;
    script.setAttribute("data-feedsvc-done", "");
    var feedUrl = httpUrl(script.getAttribute("data-feed"), script.src);
    if (!feedUrl) return;
    var limit = parseInt(script.getAttribute("data-limit") || "5", 10);
    limit = Math.min(Math.max(isNaN(limit) ? 5 : limit, 1), MAX_LIMIT);
    if (!feedUrl.searchParams.has("limit")) feedUrl.searchParams.set("limit", String(limit));

    var box = null;
    var target = script.getAttribute("data-target");
    if (target) box = document.getElementById(target);
    if (!box) {
      box = el("div");
      script.parentNode.insertBefore(box, script.nextSibling);
    }
    box.classList.add("feedsvc-embed");
    box.setAttribute("aria-busy", "true");
    if (script.getAttribute("data-css") !== "none") addStyle();

    fetch(feedUrl.href, { mode: "cors", credentials: "omit", headers: { Accept: "application/feed+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (feed) { render(box, feed || {}, feedUrl, limit); })
      .catch(function () { fail(box, feedUrl); });
  }

  start();
})();
