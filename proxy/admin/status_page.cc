#include "proxy/admin/status_page.h"

#include <openssl/evp.h>

#include <string_view>

namespace ehp {
namespace {

constexpr std::string_view kStyle = R"css(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .4em}h2{font-size:1.05em;margin:1.2em 0 .4em}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;white-space:nowrap}
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}
.healthy{color:#176f2c;font-weight:600}.evicted{color:#b00020;font-weight:600}
.probation{color:#a15c00;font-weight:600}.drained{color:#555;font-weight:600}
#summary span{margin-right:1.5em}#error{color:#b00020}.bad{color:#b00020;font-weight:600}
button{font-size:12px}
)css";

constexpr std::string_view kScript = R"js(
'use strict';
const canDrain = document.body.dataset.canDrain === '1';
let previous = null;
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) tr.appendChild(c);
  return tr;
}
function num(v) { return el('td', v, 'n'); }
async function get(path) {
  const r = await fetch(path, {cache: 'no-store'});
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return path === '/metrics' ? r.text() : r.json();
}
function metric(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const labels = {};
    const m = line.match(/\{(.*)\}/);
    if (m) for (const p of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2];
    out.push({labels, value: Number(line.slice(line.lastIndexOf(' ') + 1))});
  }
  return out;
}
async function act(name, action) {
  const r = await fetch('/members/' + encodeURIComponent(name) + '/' + action, {method: 'POST'});
  document.getElementById('error').textContent = r.ok ? '' : await r.text();
  refresh();
}
function members(status) {
  const body = document.getElementById('members');
  body.replaceChildren();
  const ids = {};
  for (const m of status.members) ids[m.member_id] = m.name;
  for (const m of status.members) {
    const cells = [el('td', m.name), el('td', m.zone ?? '-'), el('td', m.state, m.state),
      el('td', m.reason ?? '-'),
      el('td', m.name === status.leader ? 'yes' : (m.leader ? (ids[m.leader] ?? m.leader) : '-')),
      num(m.raft_term), num(m.raft_index), num(m.applied_index), num(m.lag), el('td', m.since)];
    if (canDrain) {
      const td = document.createElement('td');
      const b = el('button', m.state === 'drained' ? 'undrain' : 'drain');
      b.addEventListener('click', () => act(m.name, b.textContent));
      td.appendChild(b);
      cells.push(td);
    }
    const tr = row(cells);
    tr.dataset.member = m.name;
    body.appendChild(tr);
  }
}
function rates(text) {
  const now = performance.now();
  const byCode = {};
  for (const s of metric(text, 'etcd_health_proxy_calls_total')) {
    byCode[s.labels.code] = (byCode[s.labels.code] || 0) + s.value;
  }
  const body = document.getElementById('rates');
  body.replaceChildren();
  for (const code of Object.keys(byCode).sort()) {
    let rate = '-';
    if (previous && previous.byCode[code] !== undefined) {
      rate = ((byCode[code] - previous.byCode[code]) / ((now - previous.time) / 1000)).toFixed(1);
    }
    body.appendChild(row([el('td', code), num(rate), num(byCode[code])]));
  }
  previous = {time: now, byCode};
  const held = metric(text, 'etcd_health_proxy_held_calls');
  return held.length ? held[0].value : 0;
}
function events(list) {
  const body = document.getElementById('events');
  body.replaceChildren();
  for (const e of list.events.slice(-15).reverse()) {
    body.appendChild(row([el('td', e.time), el('td', e.member), el('td', e.from),
      el('td', e.to), el('td', e.reason ?? '-')]));
  }
}
async function refresh() {
  try {
    const [status, ev, text] = await Promise.all([get('/status'), get('/events'), get('/metrics')]);
    members(status);
    events(ev);
    const held = rates(text);
    document.getElementById('leader').textContent = status.leader ?? 'none';
    const stalled = document.getElementById('stalled');
    stalled.textContent = status.stalled ? 'yes' : 'no';
    stalled.className = status.stalled ? 'bad' : '';
    document.getElementById('held').textContent = held;
    document.getElementById('updated').textContent = new Date().toISOString();
    document.getElementById('error').textContent = '';
  } catch (err) {
    document.getElementById('error').textContent = 'refresh failed: ' + err.message;
  }
}
if (canDrain) document.getElementById('action').hidden = false;
refresh();
setInterval(refresh, 1500);
)js";

std::string Sha256Base64(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  unsigned char out[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(out, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

const std::string& Policy() {
  static const std::string policy =
      "default-src 'none'; script-src 'sha256-" + Sha256Base64(kScript) + "'; style-src 'sha256-" +
      Sha256Base64(kStyle) +
      "'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; "
      "frame-ancestors 'none'";
  return policy;
}

}  // namespace

AdminResponse StatusPage(bool can_drain) {
  AdminResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.headers = {{"Content-Security-Policy", Policy()},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  r.body = std::string(R"html(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>etcd-health-proxy</title>
<style>)html") +
           std::string(kStyle) + R"html(</style></head>
<body data-can-drain=")html" +
           (can_drain ? "1" : "0") + R"html(">
<h1>etcd-health-proxy</h1>
<div id="summary"><span>leader: <b id="leader">-</b></span><span>stalled: <b id="stalled">-</b></span><span>held calls: <b id="held">-</b></span><span>updated: <span id="updated">-</span></span></div>
<p id="error"></p>
<h2>Members</h2>
<table><thead><tr><th>name</th><th>zone</th><th>state</th><th>reason</th><th>leader</th><th>term</th><th>raft index</th><th>applied index</th><th>lag</th><th>since</th><th id="action" hidden>action</th></tr></thead>
<tbody id="members"></tbody></table>
<h2>Calls by code</h2>
<table><thead><tr><th>code</th><th>per second</th><th>total</th></tr></thead><tbody id="rates"></tbody></table>
<h2>Recent events</h2>
<table><thead><tr><th>time</th><th>member</th><th>from</th><th>to</th><th>reason</th></tr></thead><tbody id="events"></tbody></table>
<script>)html" +
           std::string(kScript) +
           R"html(</script>
</body></html>
)html";
  return r;
}

}  // namespace ehp
