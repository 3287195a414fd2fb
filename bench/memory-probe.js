// Loaded into the measured Node-RED with `node --require` (bench/backlog.ts): every 200 ms it
// writes process.memoryUsage() at the highest RSS seen so far to MEMORY_PROBE_FILE, so that a
// peak of RSS can be split into the JavaScript heap and the Buffers outside it.
'use strict';
const fs = require('fs');
const file = process.env.MEMORY_PROBE_FILE;
let peakRss = 0;
if (file) {
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss <= peakRss) return;
    peakRss = m.rss;
    fs.writeFileSync(file, JSON.stringify(m));
  }, 200).unref();
}
