#!/usr/bin/env node
// A long-lived client built on the npm `etcd3` library (1.1.2), for the chaos drills: linearizable
// gets and compare-and-swap writes at a fixed rate, open loop, with the library's default fault
// handling: per host a circuit breaker that opens after 3 consecutive recoverable errors and
// refuses every call to that host for 5 s ("Execution prevented because the circuit breaker is
// open"), and 3 attempts per call across hosts. Behind a proxy the proxy is the only host, so a
// burst of 3 errors cuts the client off entirely for 5 s.
//
//   node client.js --endpoints=https://A:P[,https://B:P] --cacert=F --cert=F --key=F
//                  --duration=SECONDS [--rate=60] [--prefix=/drill/npm/] [--json=FILE]
//
// Prints one summary line and writes it as JSON. Every loop is bounded by --duration (and at
// most 200 calls in flight).
'use strict';
const fs = require('fs');
const { Etcd3 } = require('etcd3');

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) {
      console.error(`client.js: unknown argument ${a}`);
      process.exit(2);
    }
    return [m[1], m[2]];
  }));
for (const required of ['endpoints', 'cacert', 'cert', 'key', 'duration']) {
  if (!args[required]) {
    console.error(`client.js: --${required} is required`);
    process.exit(2);
  }
}
const durationMs = Number(args.duration) * 1000;
const rate = Number(args.rate || 60);
const prefix = args.prefix || '/drill/npm/';
const maxInFlight = 200;
const callDeadlineMs = 5000;

const client = new Etcd3({
  hosts: args.endpoints.split(','),
  credentials: {
    rootCertificate: fs.readFileSync(args.cacert),
    certChain: fs.readFileSync(args.cert),
    privateKey: fs.readFileSync(args.key),
  },
  dialTimeout: 2000,
  defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callDeadlineMs }),
});

const stats = {
  reads: { ok: 0, failed: 0 },
  writes: { ok: 0, failed: 0 },
  circuit_open: 0, // calls refused by the client's own circuit breaker
  skipped: 0, // not started: maxInFlight calls already waiting
  errors: {},
  error_times: {},
  longest_write_gap_ms: 0,
};
const modRevisions = new Map();
const start = Date.now();
let lastWriteOk = start;
let inFlight = 0;

function noteError(err) {
  // gRPC's deadline messages carry per-call timings: cut them so the same error counts once.
  const message = String(err.message).split('\n')[0].replace(/ after [0-9.]+s.*$/, '');
  const text = `${err.constructor.name}: ${message}`.slice(0, 120);
  stats.errors[text] = (stats.errors[text] || 0) + 1;
  // When each kind of error was first and last seen, in seconds from the start.
  const t = (Date.now() - start) / 1000;
  const when = (stats.error_times[text] = stats.error_times[text] || [t, t]);
  when[1] = t;
  if (/circuit breaker is open/i.test(String(err.message))) stats.circuit_open++;
}

async function read(key) {
  await client.get(key).string();
}

async function write(key, value) {
  // Compare-and-swap: put only if the key is where this client last saw it (0: absent).
  const seen = modRevisions.get(key) || 0;
  const r = await client
    .if(key, 'Mod', '==', seen)
    .then(client.put(key).value(value))
    .else(client.get(key))
    .commit();
  if (r.succeeded) {
    modRevisions.set(key, Number(r.header.revision));
  } else {
    const kvs = r.responses[0].response_range.kvs;
    modRevisions.set(key, kvs.length > 0 ? Number(kvs[0].mod_revision) : 0);
  }
}

function startOne(i) {
  if (inFlight >= maxInFlight) {
    stats.skipped++;
    return;
  }
  const isWrite = i % 2 === 1;
  const key = `${prefix}${i % 64}`;
  inFlight++;
  const op = isWrite ? write(key, String(i)) : read(key);
  op.then(
    () => {
      if (isWrite) {
        const now = Date.now();
        stats.longest_write_gap_ms = Math.max(stats.longest_write_gap_ms, now - lastWriteOk);
        lastWriteOk = now;
        stats.writes.ok++;
      } else {
        stats.reads.ok++;
      }
    },
    (err) => {
      (isWrite ? stats.writes : stats.reads).failed++;
      noteError(err);
    })
    .finally(() => inFlight--);
}

async function main() {
  const intervalMs = 1000 / rate;
  let i = 0;
  while (Date.now() - start < durationMs) {
    startOne(i++);
    const next = start + i * intervalMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  // Let the calls in flight end (their deadline bounds this).
  const drainUntil = Date.now() + callDeadlineMs + 1000;
  while (inFlight > 0 && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
  stats.longest_write_gap_ms = Math.max(stats.longest_write_gap_ms, Date.now() - lastWriteOk);
  client.close();
  const top = Object.entries(stats.errors).sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(
    `npm etcd3: reads ${stats.reads.ok} ok ${stats.reads.failed} failed; writes ` +
      `${stats.writes.ok} ok ${stats.writes.failed} failed (longest gap ` +
      `${stats.longest_write_gap_ms} ms); ${stats.circuit_open} refused by the circuit breaker; ` +
      `${stats.skipped} skipped` +
      (top.length ? `; errors: ${top.map(([m, n]) => `${n} x ${m}`).join('; ')}` : ''));
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(stats) + '\n');
}

main().catch((err) => {
  console.error(`client.js: ${err.stack || err}`);
  process.exit(1);
});
