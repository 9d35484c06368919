// A Kinesis endpoint that stores nothing: over cleartext HTTP/2 (as the SDK's default transport speaks it),
// it reads each request body and answers every PutRecords with a canned success for 500 records. Driving
// it with the SDK measures what the producer side alone costs on this machine.
// Prints `null kinesis ready at http://127.0.0.1:PORT`; SIGTERM stops it.
import http2 from 'node:http2';

const RECORDS = 500;
const answer = Buffer.from(
  JSON.stringify({
    FailedRecordCount: 0,
    Records: Array.from({ length: RECORDS }, (_, i) => ({
      SequenceNumber: String(49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000 + i).padStart(56, '0'),
      ShardId: `shardId-00000000000${i % 4}`,
    })),
  }),
);

const server = http2.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': answer.length });
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`null kinesis ready at http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
