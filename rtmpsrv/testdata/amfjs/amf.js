// Encodes and decodes AMF with npm codecs not written in this project (amf3-ts, amf0-ts), for
// Go tests that check Rendercast's own codec against them.
//
// Reads one JSON object from stdin:
//   {"encode": [{"name": "...", "amf": 3, "js": "<JavaScript expression>"}, ...],
//    "decode": [{"name": "...", "amf": 3, "hex": "<bytes>"}, ...]}
// and writes {"encoded": {name: hex}, "decoded": {name: value}, "errors": {name: message}}.
// Decoded values are JSON with tags for what JSON lacks: {"$undefined": true},
// {"$date": ms}, {"$bytes": hex}, {"$number": "NaN"}, {"$array": {key: value}} for an
// array with named keys, {"$map": [[key, value], ...]}.
'use strict';
const { AMF3, Stream } = require('amf3-ts');
const { AMF0 } = require('amf0-ts');

// Classes the expressions may use.
class Person {
  constructor(name, age) { this.name = name; this.age = age; }
}
AMF3.registerClassAlias('com.example.Person', Person);
AMF0.registerClassAlias('com.example.Person', Person);

// Flex's ArrayCollection and ObjectProxy write one AMF3 value in writeExternal.
class ArrayCollection {
  constructor(source) { this.source = source; }
  writeExternal(output) { output.writeObject(this.source); }
  readExternal(input) { this.source = input.readObject(); }
}
AMF3.registerClassAlias('flex.messaging.io.ArrayCollection', ArrayCollection);
class ObjectProxy {
  constructor(object) { this.object = object; }
  writeExternal(output) { output.writeObject(this.object); }
  readExternal(input) { this.object = input.readObject(); }
}
AMF3.registerClassAlias('flex.messaging.io.ObjectProxy', ObjectProxy);
class Unknown {
  writeExternal(output) { output.writeUTF('secret'); }
  readExternal(input) { input.readUTF(); }
}
AMF3.registerClassAlias('com.example.Unknown', Unknown);

function bytes(s) { const st = new Stream(); for (const c of s) st.writeUnsignedByte(c); return st; }
function mixed(dense, named) { return Object.assign([], dense, named); }

function hex(a) { return Buffer.from(a).toString('hex'); }

function tag(v) {
  if (v === undefined) return { $undefined: true };
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $number: String(v) };
  if (v instanceof Date) return { $date: v.getTime() };
  if (v instanceof Stream) return { $bytes: hex(v.data) };
  if (ArrayBuffer.isView(v)) return Array.from(v, tag);
  if (v instanceof ArrayCollection) return tag(v.source);
  if (v instanceof ObjectProxy) return tag(v.object);
  if (v instanceof Map) return { $map: Array.from(v, ([k, x]) => [tag(k), tag(x)]) };
  if (v instanceof Set) return Array.from(v, tag);
  if (Array.isArray(v)) {
    // amf3-ts leaves a hole where an array holds null: read holes as null.
    if (Object.keys(v).every((k) => /^\d+$/.test(k))) return Array.from({ length: v.length }, (_, i) => (i in v ? tag(v[i]) : null));
    const o = {};
    for (const k of Object.keys(v)) o[k] = tag(v[k]);
    return { $array: o };
  }
  const o = {};
  for (const k of Object.keys(v)) o[k] = tag(v[k]);
  return o;
}

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const out = { encoded: {}, decoded: {}, errors: {} };
  for (const e of req.encode || []) {
    try {
      // eslint-disable-next-line no-new-func
      const value = new Function('Person', 'ArrayCollection', 'ObjectProxy', 'Unknown', 'bytes', 'mixed',
        'return (' + e.js + ');')(Person, ArrayCollection, ObjectProxy, Unknown, bytes, mixed);
      out.encoded[e.name] = hex(e.amf === 0 ? AMF0.stringify(value) : AMF3.stringify(value));
    } catch (err) {
      out.errors[e.name] = String(err && err.message || err);
    }
  }
  for (const d of req.decode || []) {
    try {
      const b = Array.from(Buffer.from(d.hex, 'hex'));
      out.decoded[d.name] = tag(d.amf === 0 ? AMF0.parse(b) : AMF3.parse(b));
    } catch (err) {
      out.errors[d.name] = String(err && err.message || err);
    }
  }
  process.stdout.write(JSON.stringify(out));
});
