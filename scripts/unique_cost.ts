// What unique jobs and debounce cost at the enqueue (README, "Unique jobs and debounce"): N sequential enqueues
// of each kind against a fresh server, in ms per enqueue. Needs dist/qw (for `qw init`).
//   bun scripts/unique_cost.ts [N]        (NATS_SERVER_BIN picks the server; default nats-server on PATH)
import { NatsServer } from "../tests/helpers/nats_server.ts";
import { runQw } from "../tests/helpers/cli.ts";
import { connectClient } from "../src/client/client.ts";

const N = Number(process.argv[2] ?? 500);
const srv = await NatsServer.start();
const stream = "cost";
await runQw(["init", "--stream", stream, "--server", srv.url]);
const client = await connectClient({ servers: srv.url, stream });
console.log(`nats-server ${client.nc.info?.version}, ${N} sequential enqueues each:`);
const time = async (name: string, enqueue: (i: number) => Promise<unknown>) => {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await enqueue(i);
  console.log(`  ${name}: ${((performance.now() - t0) / N).toFixed(3)} ms per enqueue`);
};
await time("plain", () => client.enqueue("add", [1, 2]));
await time("unique, a new key each", (i) => client.enqueue("add", [1, 2], { unique: `k${i}` }));
await time("unique, the key held", () => client.enqueue("add", [1, 2], { unique: "k0" }));
await time("debounce, one key", () => client.enqueue("add", [1, 2], { unique: "d", debounce: 60 }));
await client.close();
await srv.stop();
