// A worker on the dashboard fixture tasks and a `qw dashboard` beside it, for the browser tests.
import { spawnQw } from "./cli.ts";
import { qwStarted } from "./suite.ts";
import { waitFor } from "./wait.ts";

/** Start a worker (concurrency 2) on `stream` and a dashboard on a free port; `extra` goes to `qw dashboard`. */
export async function startWorkerAndDashboard(server: string, stream: string, extra: string[] = []) {
  const worker = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/dashboard.ts", "--server", server, "--concurrency", "2"]);
  await qwStarted(worker);
  const dash = spawnQw(["dashboard", "--stream", stream, "--server", server, "--http", "127.0.0.1:0", ...extra]);
  const url = await waitFor(() => /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(dash.output())?.[1], {
    timeoutMs: 15_000,
    message: () => `the dashboard did not start: ${dash.output()}`,
  });
  return { worker, dash, url };
}
