// Runs Verdaccio for the release check, in a child process forked with an IPC channel by lib/registry.mjs.
// Listens on 127.0.0.1 on a port the OS picks (no race for a "free" port), reports it over IPC, and exits as
// soon as the channel closes, so the registry never outlives the check, even one killed with SIGKILL.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { runServer } = require('verdaccio');

if (!process.send) {
  console.error('serve.mjs is started by scripts/release/lib/registry.mjs (it needs an IPC channel)');
  process.exit(2);
}
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = await runServer(config);
server.listen(0, '127.0.0.1', () => {
  const { address, port } = server.address();
  process.send({ address, port });
});
server.on('error', (e) => {
  console.error(`registry: ${e.message}`);
  process.exit(1);
});
const stop = () => {
  server.close();
  // Keep-alive sockets from npm can hold close() open; the storage is thrown away anyway.
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
