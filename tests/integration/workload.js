'use strict';
// Workload for the 'node' integration test. The JS heap itself lives in V8's
// own mmap'd pages, so the script also leans on what node backs with malloc:
// Buffers and ArrayBuffers, zlib streams, crypto hashing, worker threads (each
// with its own isolate and native allocations), and V8's parser/compiler.
// Output must be identical between runs: everything is seeded or sorted.
const zlib = require('zlib');
const crypto = require('crypto');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

let seed = 12345;
// xorshift32: integer-only, so exact in JS numbers.
function rnd() { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }
function word() {
  let s = '';
  const n = 2 + rnd() % 9;
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + rnd() % 26);
  return s;
}
function sha(x) { return crypto.createHash('sha256').update(x).digest('hex').slice(0, 16); }

// Work done by each worker thread: build, serialize, compress, hash.
function workerJob(id) {
  seed = 1000 + id;
  const rows = [];
  for (let i = 0; i < 20000; i++) rows.push({ id: i, w: word(), v: rnd() % 1000, a: [rnd() % 7, word()] });
  const json = JSON.stringify(rows);
  const z = zlib.gzipSync(Buffer.from(json), { level: 6 });
  const back = JSON.parse(zlib.gunzipSync(z).toString());
  const big = Buffer.alloc(4 << 20, id);
  for (let i = 0; i < big.length; i += 4096) big[i] = rnd() & 255;
  return { id, rows: back.length, jsonHash: sha(json), zHash: sha(z), bigHash: sha(big) };
}

if (!isMainThread) {
  parentPort.postMessage(workerJob(workerData));
  return;
}

function out(...a) { console.log(...a); }

// --- objects and arrays
const people = [];
for (let i = 0; i < 100000; i++) {
  people.push({ id: i, name: word(), age: rnd() % 90, city: 'c' + (rnd() % 50), tags: Array.from({ length: rnd() % 4 }, word) });
}
people.sort((a, b) => a.age - b.age || a.name.localeCompare(b.name) || a.id - b.id);
out('youngest', JSON.stringify(people.slice(0, 3)));
out('oldest', JSON.stringify(people.slice(-3)));
const byCity = new Map();
for (const p of people) {
  if (!byCity.has(p.city)) byCity.set(p.city, []);
  byCity.get(p.city).push(p);
}
for (const city of [...byCity.keys()].sort().slice(0, 12)) {
  const list = byCity.get(city);
  const avg = list.reduce((s, p) => s + p.age, 0) / list.length;
  out(city, list.length, avg.toFixed(3), list.filter(p => p.tags.length > 2).length);
}
const names = new Set(people.map(p => p.name));
out('distinct names', names.size);
for (const p of people) if (p.id % 3 === 0) delete p.tags;
out('without tags', people.filter(p => !('tags' in p)).length);

// --- JSON round trips of growing documents
let doc = { level: 0, items: [] };
for (let i = 1; i <= 12; i++) {
  doc = { level: i, items: [doc, doc, { text: word().repeat(i * 10), n: rnd() }], meta: { k: word() } };
  const s = JSON.stringify(doc);
  const parsed = JSON.parse(s);
  out('json level', i, s.length, sha(s), parsed.items.length);
}
const pretty = JSON.stringify(people.slice(0, 2000), null, 2);
out('pretty', pretty.length, sha(pretty));
const revived = JSON.parse(pretty, (k, v) => (typeof v === 'number' ? v * 2 : v));
out('revived', revived.length, revived[1999].id, revived[0].age);

// --- string building
let acc = '';
for (let i = 0; i < 200000; i++) {
  acc += i.toString(36);
  if (i % 1000 === 0) acc += '\n';
}
out('built', acc.length, sha(acc));
const parts = [];
for (let i = 0; i < 100000; i++) parts.push(`${word()}-${i}-${(rnd() % 1e6).toString(16)}`);
const joined = parts.join(',');
out('joined', joined.length, sha(joined));
const replaced = joined.replace(/([a-f])-(\d+)/g, (m, c, d) => c.toUpperCase() + (d * 2));
out('replaced', replaced.length, sha(replaced));
const splitBack = replaced.split(',').map(s => s.split('-')).filter(a => a.length === 3);
out('split', splitBack.length);
const matches = joined.match(/\b[aeiou][a-z]{4,}\b/g) || [];
out('matches', matches.length, matches.slice(0, 5).join(' '));
out('padded', ['x', 'yy', 'zzz'].map((s, i) => s.padStart(5 + i, '*').padEnd(10, '.')).join('|'));

// --- Buffers, typed arrays, compression, hashing (native allocations)
const bufs = [];
for (let i = 0; i < 2000; i++) bufs.push(Buffer.alloc(1 + (rnd() % 20000), i & 255));
const cat = Buffer.concat(bufs);
out('buffers', bufs.length, cat.length, sha(cat));
const f64 = new Float64Array(1 << 20);
for (let i = 0; i < f64.length; i++) f64[i] = Math.sin(i) * 1000;
f64.sort();
out('float64 sorted', f64[0].toFixed(6), f64[f64.length >> 1].toFixed(6), f64[f64.length - 1].toFixed(6));
const deflated = zlib.deflateSync(Buffer.from(acc), { level: 9 });
const inflated = zlib.inflateSync(deflated).toString();
out('deflate', deflated.length, inflated === acc);
const brotli = zlib.brotliCompressSync(Buffer.from(joined));
out('brotli', brotli.length, zlib.brotliDecompressSync(brotli).toString() === joined);
let h = crypto.createHash('sha512');
for (let i = 0; i < 5000; i++) h.update(Buffer.alloc(257, i & 255));
out('sha512', h.digest('hex').slice(0, 32));
out('hmac', crypto.createHmac('sha256', 'key').update(joined).digest('base64'));

// --- generated code: V8's parser and compiler allocate natively
const src = [];
for (let i = 0; i < 3000; i++) src.push(`function g${i}(x) { return x * ${i} + (x >> ${i % 7}); }`);
src.push('return [' + Array.from({ length: 3000 }, (_, i) => `g${i}`).join(',') + '];');
const fns = new Function(src.join('\n'))();
let total = 0;
for (let i = 0; i < fns.length; i++) total = (total + fns[i](i)) % 1000000007;
out('generated functions', fns.length, total);

// --- worker threads
const jobs = [1, 2, 3, 4].map(id => new Promise((resolve, reject) => {
  const w = new Worker(__filename, { workerData: id });
  w.on('message', resolve);
  w.on('error', reject);
}));
Promise.all(jobs).then(results => {
  for (const r of results.sort((a, b) => a.id - b.id)) out('worker', JSON.stringify(r));
  out('done');
});
