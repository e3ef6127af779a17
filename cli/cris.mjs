#!/usr/bin/env node
// `npx cris ...`: registers tsx's loader in this process and runs the TypeScript entry point.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
