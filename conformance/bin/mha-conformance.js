#!/usr/bin/env node
// Stable bin entry that exists before the first build, so installs never warn about a missing bin.
import '../dist/cli.js';
