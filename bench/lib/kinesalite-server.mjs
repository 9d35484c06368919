// Runs kinesalite with an in-memory store on 127.0.0.1 and a free port (its CLI binds every interface).
// Prints `kinesalite ready at http://127.0.0.1:PORT` once listening; SIGTERM stops it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite');

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`kinesalite ready at http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
