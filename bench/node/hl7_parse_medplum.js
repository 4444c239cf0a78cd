// Parse-only throughput of HL7 v2 files with Medplum's parser, the one @medplum/hl7's
// MLLP server runs on every message it receives (Hl7Message.parse from @medplum/core,
// which @medplum/hl7 depends on at the same version).
//
//   node bench/node/hl7_parse_medplum.js FILE…
//
// The same method as bench/hl7_parse_peers.py: `\r` segment endings, a short warm-up,
// three seconds of parsing, PID-3 read from each result; one JSON line per file.
'use strict';
const fs = require('fs');
const { Hl7Message } = require('@medplum/core');
const path = require('path');
const version = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'node_modules/@medplum/hl7/package.json'), 'utf8'),
).version;

const RUN_SECONDS = 3;

function rate(text) {
  const parse = () => Hl7Message.parse(text).getSegment('PID').getField(3).toString();
  const warmUntil = performance.now() + (RUN_SECONDS * 1000) / 10;
  while (performance.now() < warmUntil) parse();
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < RUN_SECONDS * 1000) {
    for (let i = 0; i < 20; i++) parse();
    count += 20;
  }
  const seconds = (performance.now() - started) / 1000;
  return [count / seconds, (seconds * 1e6) / count];
}

for (const file of process.argv.slice(2)) {
  const raw = fs.readFileSync(file, 'utf8');
  const text = raw.replace(/^\uFEFF/, '').replace(/\r\n|\n/g, '\r').replace(/\r+$/, '');
  const [perSecond, micros] = rate(text);
  console.log(JSON.stringify({
    parser: `@medplum/hl7 ${version}`,
    file,
    bytes: Buffer.byteLength(raw),
    messages_per_second: Math.round(perSecond),
    microseconds_per_message: Math.round(micros * 100) / 100,
  }));
}
