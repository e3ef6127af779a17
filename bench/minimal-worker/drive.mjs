// Sends `total` GETs (4 at a time) to 127.0.0.1:18702 and prints the RSS of process `pid` every 2000.
import { readFileSync } from 'node:fs';
const pid = Number(process.argv[2]);
const total = Number(process.argv[3] ?? 10000);
const rss = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
console.log(`start: rss ${rss().toFixed(0)} MB`);
for (let sent = 0; sent < total; ) {
  for (let i = 0; i < 500; i++) await Promise.all(Array.from({ length: 4 }, () => fetch('http://127.0.0.1:18702/').then((r) => r.arrayBuffer())));
  sent += 2000;
  console.log(`after ${sent} requests: rss ${rss().toFixed(0)} MB`);
}
