#!/usr/bin/env node
// The CLI is written in TypeScript and built into dist/ by `npm install` (the prepare script).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'cli.js');
if (!fs.existsSync(entry)) {
  console.error(`waymark: ${entry} is missing; run \`npm install\` (or \`npm run build\`) in ${path.join(__dirname, '..')}`);
  process.exit(1);
}
require(entry).main();
