/* wiretale report pages: one script for the index, session pages and shared pages (reports/html.py).
   Each part runs only on the page that holds its elements; captured text is only ever written with
   textContent, from JSON data blocks and data- attributes that the templates escape. */
"use strict";
document.documentElement.classList.add("js");
/* wiretale's own words that every page would otherwise repeat, said once per report: the cards' help
   paragraphs (help_texts.html), the TCP history letters and the TCP control packets' meanings (reports._meanings);
   write_assets writes this line with them */
var REPORT = {"help": {}, "letters": {}, "tcp": []};

/* printable(bin): bytes (a binary string, one char a byte) as reports.html.printable shows them: UTF-8 where
   it is valid, every other byte as \xNN; control characters but tab and line feed made visible (\r, \x00,
   \x7f), and so C1 controls, bidirectional overrides, line separators and noncharacters (\uNNNN, \UNNNNNNNN) */
function hex2(n, w) { return ("0000000" + n.toString(16)).slice(-w); }
function visible(cp) {
  if (cp === 9 || cp === 10) return String.fromCharCode(cp);
  if (cp === 13) return "\\r";
  if (cp < 32 || cp === 0x7f) return "\\x" + hex2(cp, 2);
  if ((cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029 || cp === 0x202e || cp === 0x200e ||
      cp === 0x200f || cp === 0x202d || (cp >= 0xfdd0 && cp < 0xfdf0)) return "\\u" + hex2(cp, 4);
  if ((cp & 0xfffe) === 0xfffe) return "\\U" + hex2(cp, 8);
  return String.fromCodePoint(cp);
}
function printable(bin) {
  var out = [], i = 0, n = bin.length;
  function cont(k, lo, hi) { var c = i + k < n ? bin.charCodeAt(i + k) : -1; return c >= lo && c <= hi; }
  while (i < n) {
    var b = bin.charCodeAt(i), len = 0, cp = 0;
    if (b < 0x80) { len = 1; cp = b; }
    else if (b >= 0xc2 && b <= 0xdf && cont(1, 0x80, 0xbf)) { len = 2; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef && cont(1, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf) &&
             cont(2, 0x80, 0xbf)) { len = 3; cp = b & 0x0f; }
    else if (b >= 0xf0 && b <= 0xf4 && cont(1, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf) &&
             cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf)) { len = 4; cp = b & 0x07; }
    if (!len) { out.push("\\x" + hex2(b, 2)); i++; continue; }
    for (var k = 1; k < len; k++) cp = (cp << 6) | (bin.charCodeAt(i + k) & 0x3f);
    out.push(visible(cp));
    i += len;
  }
  return out.join("");
}

/* decoded fields, drawn from their compact rows (reports.html._fields_row) */
function fieldEl(parent, name, text, cls) {
  var e = document.createElement(name);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  parent.appendChild(e);
  return e;
}
function drawFields(d, tables, page) {   /* tables: reports.html._fields_row rows; page: a shared page's lists
                                           of columns and of cell texts, named by index, and the start its
                                           times share (_shared_fields_data) */
  tables.forEach(function (t) {
    var name = t[0], total = t[1], empty = t[2], cols = t[3], values = page ? page.values : t[5], transpose = t[7];
    var head = (page ? page.time_head : "") + t[4][0];
    var times = t[4][2].map(function (x) { return head + x + t[4][1]; });
    var rows = t[6].map(function (r) { return r.map(function (k) { return values[k]; }); });
    if (page) { empty = page.colsets[empty]; cols = page.colsets[cols]; }
    var h = fieldEl(d, "h3", name + " ");
    fieldEl(h, "span", "(" + total + " row" + (total !== 1 ? "s" : "") + ")", "muted");
    if (empty.length) fieldEl(d, "p", "Empty here: " + empty.join(", ") + ".", "help");
    if (transpose) {
      rows.forEach(function (row, i) {
        var tb = fieldEl(d, "table", undefined, "kv"), tr = fieldEl(tb, "tr");
        fieldEl(tr, "th", "time"); fieldEl(tr, "td", times[i]);
        cols.forEach(function (c, k) { var r = fieldEl(tb, "tr"); fieldEl(r, "th", c); fieldEl(r, "td", row[k]); });
      });
    } else {
      var tb = fieldEl(fieldEl(d, "div", undefined, "scroll"), "table"), hr = fieldEl(tb, "tr");
      fieldEl(hr, "th", "time");
      cols.forEach(function (c) { fieldEl(hr, "th", c, "mono"); });
      rows.forEach(function (row, i) {
        var tr = fieldEl(tb, "tr");
        fieldEl(tr, "td", times[i]);
        row.forEach(function (v) { fieldEl(tr, "td", v, "mono wrap"); });
      });
    }
    if (total > rows.length) fieldEl(d, "p", "First " + rows.length + " of " + total + " rows.", "help");
  });
}

/* a decoded transcript (session pages' #ttable, shared pages' table.events) from its compact rows
   (reports.html._transcript_data): each row names its kind and its meaning by their index in the page's list of
   texts ("meanings");
   a table without a heading row (a shared page's) gets one */
/* the bar of controls (class "filters jsonly") put before element e, and a checked checkbox in it: the pages
   carry no controls that only the script can work */
function controlBar(e) {
  var d = document.createElement("div");
  d.className = "filters jsonly";
  e.parentNode.insertBefore(d, e);
  return d;
}
function checkbox(bar, id, words) {
  var label = fieldEl(bar, "label"), box = fieldEl(label, "input");
  box.type = "checkbox"; box.id = id; box.checked = true;
  label.appendChild(document.createTextNode(" " + words));
  return box;
}
function drawEvents(table, rows, meanings) {
  var frag = document.createDocumentFragment();
  if (!table.rows.length) {
    var hr = fieldEl(frag, "tr");
    ["frame", "time", "\u0394t", "from", "event", "what was said", "what it means"].forEach(function (h, i) {
      fieldEl(hr, "th", h, i === 0 || i === 2 ? "num" : i === 6 ? "mcol" : undefined);
    });
  }
  rows.forEach(function (r) {
    var tr = fieldEl(frag, "tr", undefined, (r[0] ? "resp" : "orig") + " ev");
    fieldEl(tr, "td", r[1] === null ? "None" : String(r[1]), "num mono");
    fieldEl(tr, "td", r[2], "mono");
    fieldEl(tr, "td", r[3], "num mono");
    fieldEl(tr, "td", r[0] ? "server" : "client", "dir");
    fieldEl(tr, "td", meanings[r[4]], "muted");
    fieldEl(tr, "td", r[5], "mono wrap");
    fieldEl(tr, "td", meanings[r[6]], "meaning mcol");
  });
  table.appendChild(frag);
}

/* raw bytes (session pages, shared pages' sections): the chunks from their compact data (reports.html._raw_row),
   each one's text view drawn from its bytes; rawChunks keeps [its pre, its bytes] for the hex view */
function num(n) { return Number(n).toLocaleString("en-US"); }
function rawBin(x) {   /* a chunk's bytes as a binary string: [base64], or reports.html.raw_text's one character a byte */
  if (typeof x !== "string") return atob(x[0]);
  return x.replace(/[\u0100-\u01ff]/g, function (ch) { return String.fromCharCode(ch.charCodeAt(0) - 0x100); });
}
var rawChunks = [];
Array.prototype.forEach.call(document.querySelectorAll("script.raw-data"), function (s) {
  var box = s.parentNode;
  JSON.parse(s.textContent).forEach(function (r) {   /* reports.html._raw_row: [d, t, f, gap] or [d, t, f, s, n, bytes, c?] */
    var d = r[0], t = r[1], f = r[2];
    if (r.length === 4) {
      var g = fieldEl(box, "div", undefined, "chunk gap");
      fieldEl(g, "span", t + " \u00b7 frame " + f, "meta");
      g.appendChild(document.createTextNode(" " + num(r[3]) + " bytes missing from the " + (d ? "server" : "client") +
                                            " (not in the capture)"));
      return;
    }
    var segs = r[3], c = fieldEl(box, "div", undefined, "chunk d" + d);
    fieldEl(c, "div", (d ? "server \u2192 client" : "client \u2192 server") + " \u00b7 " + t + " \u00b7 frame" +
            (segs > 1 ? "s" : "") + " " + f + " \u00b7 " + (segs > 1 ? num(segs) + " segments, " : "") + num(r[4]) + " bytes" +
            (r.length > 6 ? " (the first " + num(r[6]) + " shown)" : ""), "meta");
    var pre = fieldEl(c, "pre", undefined, "raw"), bin = rawBin(r[5]);
    pre.textContent = printable(bin);
    rawChunks.push([pre, bin]);
  });
});

/* the index: timeline, session filter, sort and search (index.html) */
if (document.getElementById("index-consts")) (function () {
  var svg = document.getElementById("tl");
  var q = document.getElementById("q"), sel = document.getElementById("proto"), count = document.getElementById("count");
  var lanes = svg ? Array.prototype.slice.call(svg.querySelectorAll("g.lane")) : [];
  var tbody = document.querySelector("#stable tbody"), moreP = document.getElementById("more");
  var sdata = document.getElementById("sdata");
  var consts = JSON.parse(document.getElementById("index-consts").textContent);
  var COLORS = consts.colors, OTHER = consts.other, SHOW = 500;
  var data = null, sortCol = -1, sortDir = 1, group = "";
  if (sdata) {
    data = sdata.textContent.split("\n").filter(function (l) { return l.length; }).map(function (l, i) {
      var f = l.split("\t");
      return {f: f, i: i, text: (f[0] + " " + f[1] + " " + f[2] + " " + f[3] + " " + f[4] + " " + f[9]).toLowerCase()};
    });
  }
  function fmtBytes(n) {
    n = +n; if (n < 1024) return n + " B";
    var u = ["KiB", "MiB", "GiB"], k = -1;
    do { n /= 1024; k++; } while (n >= 1024 && k < 2);
    return n.toFixed(1) + " " + u[k];
  }
  function fmtDur(s) {
    s = +s; var a = Math.abs(s);
    if (a < 1e-3) return (s * 1e6).toFixed(0) + " µs";
    if (a < 1) return (s * 1e3).toFixed(1) + " ms";
    if (a < 120) return s.toFixed(3) + " s";
    if (a < 7200) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function td(text) { var c = document.createElement("td"); c.textContent = text; return c; }   /* (#stable's style sheet sets each column) */
  function rowOf(d, n) {
    var f = d.f, tr = document.createElement("tr"), a;
    tr.className = "srow"; tr.dataset.proto = f[1]; tr.dataset.uid = f[0];
    tr.appendChild(td(String(n)));
    var u = document.createElement("td");
    if (+f[12] > 0) u.appendChild(document.createTextNode("↳ "));
    if (f[11]) {   /* its page: "=" its own, a number the shared page (reports.html session_data) */
      a = document.createElement("a");
      a.href = "sessions/" + (f[11] === "=" ? encodeURIComponent(f[0]) + ".html" : "shared-" + f[11] + ".html#" + encodeURIComponent(f[0]));
      a.textContent = f[0]; u.appendChild(a);
    } else u.appendChild(document.createTextNode(f[0]));
    tr.appendChild(u);
    var p = document.createElement("td"), pill = document.createElement("span"), m = document.createElement("span");
    pill.className = "pill"; pill.style.background = COLORS[f[1]] || OTHER; pill.textContent = f[1] || f[2];
    m.className = "muted"; m.textContent = " " + f[2]; p.appendChild(pill); p.appendChild(m); tr.appendChild(p);
    tr.appendChild(td(f[3])); tr.appendChild(td(f[4]));
    tr.appendChild(td("+" + fmtDur(f[5]).replace(/^0 µs$/, "0"))); tr.appendChild(td(fmtDur(f[6])));
    tr.appendChild(td(fmtBytes(f[7]))); tr.appendChild(td(fmtBytes(f[8])));
    tr.appendChild(td(f[9])); tr.appendChild(td(Number(f[10]).toLocaleString("en")));
    return tr;
  }
  function matches(s, p, text, proto, grp) {
    if (p !== "" && proto !== p) return false;
    if (group && grp !== group) return false;
    var terms = s.split(/\s+/);
    for (var k = 0; k < terms.length; k++) if (terms[k] && text.indexOf(terms[k]) < 0) return false;
    return true;
  }
  var rows = data ? [] : Array.prototype.slice.call(document.querySelectorAll("tr.srow"));
  var rowTexts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  function applyFilter() {
    var s = q.value.trim().toLowerCase(), p = sel.value, shown = 0, i;
    if (data) {
      var hits = data.filter(function (d) { return matches(s, p, d.text, d.f[1], d.f[13]); });
      if (sortCol >= 0) hits.sort(function (x, y) { return sortDir * (+x.f[sortCol] - +y.f[sortCol]) || x.i - y.i; });
      var frag = document.createDocumentFragment();
      for (i = 0; i < hits.length && i < SHOW; i++) frag.appendChild(rowOf(hits[i], hits[i].i + 1));
      tbody.textContent = ""; tbody.appendChild(frag);
      moreP.textContent = hits.length > SHOW ? "Showing the first " + SHOW + " of " + hits.length + " matching sessions; narrow the filter to see the others." : "";
      count.textContent = hits.length + " of " + data.length + " sessions" + (group ? " (one timeline group: clear the filter to see all)" : "");
    } else {
      for (i = 0; i < rows.length; i++) {
        var v = matches(s, p, rowTexts[i], rows[i].dataset.proto, "");
        rows[i].style.display = v ? "" : "none"; if (v) shown++;
      }
      count.textContent = shown + " of " + rows.length + " sessions on this page";
    }
    if (!svg) return;
    var top0 = +svg.dataset.top, laneH = +svg.dataset.lane, n = 0;
    for (i = 0; i < lanes.length; i++) {
      var g = lanes[i], t = g.querySelector("title"), tx = (t ? t.textContent : "").toLowerCase();
      var vis = (p === "" || g.dataset.proto === p || g.classList.contains("probe")) && (s === "" || matches(s, "", tx, "", "")) && (!group || g.dataset.group === group);
      (g.parentNode === svg ? g : g.parentNode).style.display = vis ? "" : "none";
      if (vis) { g.setAttribute("transform", "translate(0," + (top0 + n * laneH) + ")"); n++; }
    }
    var h = top0 + Math.max(n, 1) * laneH + 8;
    svg.setAttribute("height", h);
    svg.setAttribute("viewBox", "0 0 " + svg.getAttribute("width") + " " + h);
    Array.prototype.forEach.call(svg.querySelectorAll("line.tick"), function (l) { l.setAttribute("y2", h); });
    if (!data) return;
    count.textContent += " · " + n + " of " + lanes.length + " lanes";
  }
  q.addEventListener("input", function () { group = ""; applyFilter(); });
  sel.addEventListener("change", applyFilter);
  Array.prototype.forEach.call(document.querySelectorAll("#stable th[data-sort]"), function (th) {
    th.style.cursor = "pointer"; th.title = "sort";
    th.addEventListener("click", function () {
      var c = +th.dataset.sort; sortDir = (sortCol === c) ? -sortDir : 1; sortCol = c; applyFilter();
    });
  });
  lanes.forEach(function (g) {
    if (g.dataset.group && g.classList.contains("group")) g.parentNode.addEventListener("click", function (ev) {
      ev.preventDefault(); group = g.dataset.group; q.value = ""; applyFilter();
      document.getElementById("sessions").scrollIntoView();
    });
    if (g.classList.contains("probe")) g.parentNode.addEventListener("click", function () {
      var d = document.getElementById(g.dataset.group); if (d) d.open = true;
    });
  });
  if (svg) {
    var X0 = +svg.dataset.x0, X1 = +svg.dataset.x1, zoom = 1, offset = 0;
    var applyZoom = function () {
      var w = (X1 - X0) * zoom;
      lanes.forEach(function (g) {
        var bar = g.querySelector("g.bar"), r = bar.querySelector("rect");
        var t0 = +g.dataset.t0, base = X0 + t0 * (X1 - X0);
        var nx = X0 + (t0 - offset) * w;
        bar.setAttribute("transform", "translate(" + (nx - base * zoom) + ",0) scale(" + zoom + ",1)");
        r.setAttribute("width", Math.max(+r.dataset.w, 3 / zoom));
      });
      Array.prototype.forEach.call(svg.querySelectorAll("#axis line.tick, #axis text.ticklabel"), function (el) {
        el.style.display = zoom === 1 ? "" : "none";
      });
    };
    var setView = function (z, c) {
      zoom = Math.max(1, Math.min(z, 4096));
      offset = Math.max(0, Math.min(c - 0.5 / zoom, 1 - 1 / zoom));
      applyZoom();
    };
    var center = function () { return offset + 0.5 / zoom; };
    document.getElementById("zin").addEventListener("click", function () { setView(zoom * 2, center()); });
    document.getElementById("zout").addEventListener("click", function () { setView(zoom / 2, center()); });
    document.getElementById("pl").addEventListener("click", function () { setView(zoom, center() - 0.4 / zoom); });
    document.getElementById("pr").addEventListener("click", function () { setView(zoom, center() + 0.4 / zoom); });
    document.getElementById("zreset").addEventListener("click", function () { zoom = 1; offset = 0; applyZoom(); });
  }
  applyFilter();
})();

/* a session page's list of meanings (#meanings): a number in it names one of REPORT.tcp */
function pageMeanings() {
  return JSON.parse(document.getElementById("meanings").textContent).map(function (m) {
    return typeof m === "number" ? REPORT.tcp[m] : m;
  });
}

/* a session page */
if (document.body.classList.contains("session-page")) (function () {
  var fieldsBox = document.getElementById("fields-box");
  if (fieldsBox) drawFields(fieldsBox, JSON.parse(document.getElementById("fields-data").textContent));
  /* the decoded transcript, from its compact rows (reports.html._transcript_data): each row names its meaning
     by its index in the page's list (#meanings, shared with the ladder) */
  var evData = document.getElementById("events-data"), evRows = evData ? JSON.parse(evData.textContent) : [];
  if (evData) {
    var ttable = document.getElementById("ttable"), tbar = controlBar(ttable);
    drawEvents(ttable, evRows, pageMeanings());
    var search = fieldEl(tbar, "input");
    search.type = "search"; search.id = "tq"; search.placeholder = "filter the transcript \u2026";
    search.setAttribute("aria-label", "filter transcript");
    checkbox(tbar, "tmean", "show meanings");
    fieldEl(tbar, "span", undefined, "muted").id = "tcount";
  }
  var tq = document.getElementById("tq");
  if (tq) {
    var trows = Array.prototype.slice.call(document.querySelectorAll("#ttable tr.ev"));
    var ttexts = trows.map(function (r) { return r.textContent.toLowerCase(); });
    var tcount = document.getElementById("tcount");
    tq.addEventListener("input", function () {
      var s = tq.value.trim().toLowerCase(), n = 0;
      trows.forEach(function (r, i) { var v = s === "" || ttexts[i].indexOf(s) >= 0; r.style.display = v ? "" : "none"; if (v) n++; });
      tcount.textContent = n + " of " + trows.length + " events";
    });
    document.getElementById("tmean").addEventListener("change", function (ev) {
      Array.prototype.forEach.call(document.querySelectorAll(".mcol"), function (c) { c.style.display = ev.target.checked ? "" : "none"; });
    });
  }
  var ladderData = document.getElementById("ladder-data");
  if (ladderData) {
    (function () {
      var svg = document.getElementById("ladder-svg"), NS = "http://www.w3.org/2000/svg";
      var W = +svg.getAttribute("width"), LX = +svg.dataset.lx, RX = +svg.dataset.rx, MID = Math.floor((LX + RX) / 2);
      function trunc(s, n) { return s.length <= n + 5 ? s : s.slice(0, n - 1) + "\u2026"; }
      function el(parent, name, attrs, text) {
        var e = document.createElementNS(NS, name);
        for (var k in attrs) e.setAttribute(k, attrs[k]);
        if (text !== undefined) e.textContent = text;
        parent.appendChild(e);
        return e;
      }
      var H = +svg.getAttribute("height"), frame = document.createDocumentFragment(), defs = el(frame, "defs", {});
      [["ah-o", "#1d5fd1"], ["ah-r", "#b4530a"], ["ah-c", "#6b7686"]].forEach(function (m) {
        var mk = el(defs, "marker", {id: m[0], viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
                                     orient: "auto-start-reverse"});
        el(mk, "path", {d: "M0,0 L10,5 L0,10 z", fill: m[1]});
      });
      [[LX, "client", "#eaf2ff", "#1d5fd1"], [RX, "server", "#fff3e6", "#b4530a"]].forEach(function (c) {
        el(frame, "rect", {x: c[0] - 95, y: 6, width: 190, height: 40, rx: 6, fill: c[2], stroke: c[3]});
        el(frame, "text", {x: c[0], y: 22, "font-size": 13, "font-weight": 600, "text-anchor": "middle", fill: c[3]}, c[1]);
        el(frame, "line", {x1: c[0], x2: c[0], y1: 46, y2: H - 6, stroke: c[3], "stroke-width": 2});
      });
      el(frame, "text", {x: 8, y: 62, "font-size": 11, fill: "#5b6675"}, "time / \u0394t");
      el(frame, "text", {x: W - 8, y: 62, "font-size": 11, fill: "#5b6675", "text-anchor": "end"}, "frame");
      svg.insertBefore(frame, svg.firstChild);   /* under the addresses and names the page wrote */
      var frag = document.createDocumentFragment();
      var meanings = pageMeanings();
      /* each arrow's height from the kinds, as reports.html _Report.ladder works it out; its label the first
         data-label characters of its text (code points, as Python counts them) */
      var TOP = +svg.dataset.top, STEP = +svg.dataset.step, THIN = +svg.dataset.thin, LABEL = +svg.dataset.label;
      var nextY = TOP, afterThin = false;
      /* a row of the session's own event is its transcript row's index i, or [i, Δt] (reports.html._ladder_refs) */
      function ladderRow(r) {
        if (typeof r === "number") r = [r, null];
        if (r.length !== 2) return r;
        var e = evRows[r[0]];
        return ["a", 1 - e[0], e[1], e[2], r[1] !== null ? r[1] : (e[3] ? "\u0394 " + e[3] : ""), e[5], e[6]];
      }
      JSON.parse(ladderData.textContent).map(ladderRow).forEach(function (r) {
        var kind = r[0], ltr = r[1], frame = r[2], rel = r[3], dt = r[4], full = r[5], mean = meanings[r[6]];
        if (afterThin && kind !== "t") nextY += STEP - THIN - 6;
        var y = nextY, cps = Array.from(full);
        afterThin = kind === "t";
        nextY += afterThin ? THIN : STEP;
        var label = cps.length <= LABEL ? full : cps.slice(0, LABEL - 1).join("") + "\u2026";
        var x1 = ltr ? LX : RX, x2 = ltr ? RX : LX, g;
        if (kind === "t") {
          g = el(frag, "g", {"class": "tcpctl"});
          el(g, "title", {}, rel + " \u00b7 frame " + frame + " \u00b7 " + full + " \u2014 " + mean);
          el(g, "line", {x1: x1, y1: y, x2: x2, y2: y + 6, stroke: "#8a94a3", "stroke-width": "0.8", "marker-end": "url(#ah-c)"});
          el(g, "text", {x: x1 + (ltr ? 24 : -24), y: y - 3, "font-size": "10", "text-anchor": ltr ? "start" : "end", fill: "#6b7686", "class": "mono"}, label);
          el(g, "text", {x: W - 8, y: y + 4, "font-size": "10", "text-anchor": "end", fill: "#8a94a3", "class": "mono"}, "#" + frame);
        } else if (kind === "n") {
          g = el(frag, "g", {"class": "note"});
          el(g, "title", {}, "comment at frame " + frame + ": " + full);
          el(g, "text", {x: 8, y: y, "font-size": "11.5", "class": "mono"}, rel);
          el(g, "rect", {x: LX + 20, y: y - 16, width: RX - LX - 40, height: 24, rx: 4, fill: "#fff8d6", stroke: "#c9a300"});
          el(g, "text", {x: MID, y: y, "font-size": "12", "text-anchor": "middle", fill: "#5c4700"}, "\u270e " + trunc(full, 80));
          el(g, "text", {x: W - 8, y: y + 8, "font-size": "11", "text-anchor": "end", fill: "#5b6675", "class": "mono"}, "#" + frame);
        } else {
          g = el(frag, "g", {"class": "arrow " + (kind === "c" ? "child" : (ltr ? "orig" : "resp"))});
          el(g, "title", {}, rel + " \u00b7 frame " + frame + " \u00b7 " + full + (mean ? " \u2014 " + mean : ""));
          el(g, "text", {"class": "mono lt", x: 8, y: y}, rel);
          el(g, "text", {"class": "mono ld", x: 8, y: y + 13}, dt);
          el(g, "line", {x1: x1, y1: y, x2: x2, y2: y + 10});
          el(g, "text", {"class": "mono ll", x: MID, y: y - (mean ? 17 : 5)}, label);
          if (mean) el(g, "text", {"class": "lm", x: MID, y: y - 4}, trunc(mean, 96));
          el(g, "text", {"class": "mono lf", x: W - 8, y: y + 8}, "#" + frame);
        }
      });
      svg.appendChild(frag);
    })();
  }
  var ladderSvg = document.getElementById("ladder-svg");
  if (ladderSvg && ladderSvg.dataset.tcp) {
    var tcpctl = checkbox(controlBar(ladderSvg.parentNode), "tcpctl", "show the TCP handshake and teardown (thin grey arrows)");
    tcpctl.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("#ladder-svg g.tcpctl"), function (g) { g.style.display = tcpctl.checked ? "" : "none"; });
    });
  }
  /* the raw bytes: each chunk's bytes travel once (rawChunks); the text view and (when opened) the hex view
     are drawn from them */
  var raws = rawChunks.filter(function (x) { return x[0].closest("#raw"); });
  var hexview = document.getElementById("hexview");
  if (hexview) {
    var hexbox = hexview.querySelector(".scroll");
    raws.forEach(function (x) {   /* one hex chunk per text chunk, with its heading; drawn when opened */
      var chunk = fieldEl(hexbox, "div", undefined, x[0].parentNode.className);
      chunk.appendChild(x[0].previousElementSibling.cloneNode(true));
      fieldEl(chunk, "pre", undefined, "mono hex");
    });
    hexview.addEventListener("toggle", function () {
      if (!hexview.open) return;
      Array.prototype.forEach.call(hexview.querySelectorAll("pre.hex"), function (pre, n) {
        if (pre.textContent || !raws[n]) return;
        var bin = raws[n][1], lines = [];
        for (var i = 0; i < bin.length; i += 16) {
          var hex = "", asc = "";
          for (var k = 0; k < 16; k++) {
            if (k === 8) hex += " ";
            if (i + k < bin.length) {
              var b = bin.charCodeAt(i + k);
              hex += (b < 16 ? "0" : "") + b.toString(16) + " ";
              asc += (b >= 32 && b < 127) ? bin.charAt(i + k) : ".";
            } else hex += "   ";
          }
          lines.push(("0000000" + i.toString(16)).slice(-8) + "  " + hex + " " + asc);
        }
        pre.textContent = lines.join("\n");
      });
    });
  }
  var term = document.getElementById("term");
  if (term) {
    var data = JSON.parse(document.getElementById("replay-data").textContent), steps = data.steps, keys = document.getElementById("keys");
    var clock = document.getElementById("clock"), speedSel = document.getElementById("speed");
    var i = 0, timer = null, buf = "", keybuf = "", vt = 0;
    function put(text) {
      for (var k = 0; k < text.length; k++) {
        var ch = text.charAt(k);
        if (ch === "\b") { if (buf.length && buf.charAt(buf.length - 1) !== "\n") buf = buf.slice(0, -1); }
        else buf += ch;
      }
    }
    function show() { term.textContent = buf; term.scrollTop = term.scrollHeight; keys.textContent = keybuf; clock.textContent = "t = " + vt.toFixed(2) + " s"; }
    function step() {
      timer = null;
      if (i >= steps.length) { clock.textContent += " (end)"; return; }
      var s = steps[i];
      vt = s[0];
      if (s[3]) put(s[2]);
      if (s[1] === 0) { keybuf = (keybuf + s[2].replace(/\n/g, "⏎")).slice(-80); }
      i++;
      show();
      if (i >= steps.length) { clock.textContent += " (end)"; }
      else {
        var wait = Math.min(steps[i][0] - s[0], 2) / (+speedSel.value);
        timer = setTimeout(step, Math.max(wait * 1000, 0));
      }
    }
    function play() { if (timer === null) { if (i >= steps.length) restart(); step(); } }
    function pause() { if (timer !== null) { clearTimeout(timer); timer = null; } }
    function restart() { pause(); i = 0; buf = ""; keybuf = ""; vt = 0; show(); }
    document.getElementById("play").addEventListener("click", function () { if (i === 0) { buf = ""; keybuf = ""; } play(); });
    document.getElementById("pause").addEventListener("click", pause);
    document.getElementById("restart").addEventListener("click", function () { restart(); play(); });
  }
})();

/* a shared page of small sessions */
if (document.body.classList.contains("shared-page")) (function () {
  var fieldsData = JSON.parse(document.getElementById("fields-data").textContent);
  var evData = JSON.parse(document.getElementById("events-data").textContent);
  function uid(e) { return e.closest("section.card").id; }   /* a section's id is its session's uid */
  Array.prototype.forEach.call(document.querySelectorAll("section.card table.events"), function (t) {
    drawEvents(t, evData.sessions[uid(t)] || [], evData.meanings);
  });
  Array.prototype.forEach.call(document.querySelectorAll("section.card details.fields"), function (d) {
    d.addEventListener("toggle", function () {
      if (!d.open || d.dataset.drawn) return;
      d.dataset.drawn = "1";
      drawFields(d, fieldsData.sessions[uid(d)] || [], fieldsData);
    });
  });
})();

/* the help paragraphs and the TCP history legend (REPORT): a page carries a link to assets/help.html#<key> in
   each [data-help] element, and its history string in [data-history]; the texts are wiretale's own words. */
function drawHelp(texts, letters) {
  Array.prototype.forEach.call(document.querySelectorAll("[data-help]"), function (e) {
    if (texts[e.dataset.help] !== undefined) e.innerHTML = texts[e.dataset.help];
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-history]"), function (e) {
    var h = e.dataset.history, box = document.createDocumentFragment();
    box.appendChild(document.createTextNode(": "));
    for (var i = 0; i < h.length; i++) {
      var ch = h[i], who = ch === "^" ? "" : (ch === ch.toUpperCase() ? "client" : "server");
      var what = letters[ch === "^" ? ch : ch.toLowerCase()] || "?", say = who ? who + " " + what : what;
      fieldEl(box, "span", ch, "tag mono").title = say;
      box.appendChild(document.createTextNode(" " + say + (i < h.length - 1 ? " · " : "")));
    }
    box.appendChild(document.createTextNode(" (capital letters: client, small: server)."));
    e.textContent = "";
    e.appendChild(box);
  });
}
drawHelp(REPORT.help, REPORT.letters);
