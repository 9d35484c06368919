/**
 * The process around `runCli`: real argv and streams, SIGINT/SIGTERM for commands that run until stopped,
 * and the exit code.
 */
import { writeSync } from 'node:fs';
import { runCli } from './index.ts';

/** After a clean stop, give open handles this long to go before exiting anyway. */
const EXIT_GRACE_MS = 2000;

// `tollstream tail ... | head` closes our stdout early; that is a normal way to stop, not an error. Any other
// failure (stdout on a full disk) loses the output, not the process: a server started by `up` keeps serving.
let stdoutFailed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  if (stdoutFailed) return;
  stdoutFailed = true;
  try {
    writeSync(2, `tollstream: standard output could not be written (${err.message}); what follows on it is lost\n`);
  } catch {
    // stderr is on the same full disk
  }
});

let controller: AbortController | undefined;

function stopSignal(): AbortSignal {
  if (!controller) {
    const c = new AbortController();
    controller = c;
    const onSignal = (name: NodeJS.Signals) => {
      if (c.signal.aborted) {
        process.stderr.write(`received ${name} again: exiting without a clean stop\n`);
        process.exit(130);
      }
      c.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return controller.signal;
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  stopSignal,
});
process.exitCode = code;
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
