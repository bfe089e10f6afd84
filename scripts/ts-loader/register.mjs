// Registers hooks.mjs, which lets Node run the TypeScript sources as they are (tests, and scripts run by hand):
//
//   node --enable-source-maps --import ./scripts/ts-loader/register.mjs path/to/file.ts
//
// The tests run through it (package.json "tap" node-arg; see hooks.mjs for why not tap's TypeScript plugin). Worker
// threads inherit the process's execArgv, so a Worker started from a .ts file runs this again and loads .ts too.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
