/**
 * A reference consumer of scripts/bench.ts as a process of its own, started
 * cold as every qw run is (see consumeRaw in _bench_raw.ts): consumes `count`
 * messages of `stream`, acking each and, in mode `wire` or `kv`, writing one
 * result per message, then prints `{"first": ms, "lastWrite": ms}` and
 * lingers until stdin closes, so the bench can read its threads' CPU time.
 *
 *   bun scripts/_raw_process.ts <nats url> <stream> <count> <ack|lean|wire|kv>
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { consumeRaw, type RawMode } from "./_bench_raw.ts";

const [url, stream, count, mode] = process.argv.slice(2);
const nc = await connect({ servers: url });
const times = await consumeRaw({ nc, js: jetstream(nc) }, stream, Number(count), mode as RawMode);
process.stdout.write(`${JSON.stringify(times)}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await nc.close();
  process.exit(0);
});
