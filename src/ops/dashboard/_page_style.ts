/** The dashboard page's style sheet: light, system fonts, tables that read like `qw inspect`. */
export const PAGE_CSS = String.raw`
:root { --fg: #1f2328; --muted: #656d76; --line: #d8dee4; --bg: #f6f8fa; --card: #fff; --accent: #0969da;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 12px; padding: 12px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
header h1 .stream { font-family: var(--mono); color: var(--accent); }
#status { margin-left: auto; color: var(--muted); font-size: 13px; }
#status.down { color: var(--bad); font-weight: 600; }
main { padding: 16px 20px 40px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); }
.tiles { grid-column: 1 / -1; display: grid; gap: 10px; grid-template-columns: repeat(auto-fit, minmax(110px, 1fr)); }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.tile .n { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .l { color: var(--muted); font-size: 12px; }
.tile.bad .n { color: var(--bad); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h2 { font-size: 14px; margin: 0 0 8px; display: flex; align-items: center; gap: 8px; }
.card h2 .hint { font-weight: 400; color: var(--muted); font-size: 12px; }
.card h2 .right { margin-left: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td.num, th.num { text-align: right; }
td.zero { color: #afb8c1; }
td.bad { color: var(--bad); font-weight: 600; }
td.wrap { white-space: normal; word-break: break-word; }
tr:last-child td { border-bottom: none; }
.scroll { overflow-x: auto; }
.none { color: var(--muted); padding: 4px 0; }
code, pre, .mono { font-family: var(--mono); font-size: 12px; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 6px 0; max-height: 260px; overflow: auto; white-space: pre-wrap; word-break: break-word; }
button { white-space: nowrap; font: inherit; font-size: 13px; padding: 3px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); cursor: pointer; }
button:hover { border-color: var(--accent); }
button.danger { color: var(--bad); }
button.danger.armed { background: var(--bad); color: #fff; }
button:disabled { opacity: .5; cursor: default; }
input[type=text] { font: inherit; font-family: var(--mono); font-size: 13px; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; width: 100%; }
form.lookup { display: flex; gap: 8px; }
.msg { margin: 6px 0; font-size: 13px; }
.msg.err { color: var(--bad); }
.msg.ok { color: var(--ok); }
.state { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: var(--bg); border: 1px solid var(--line); }
.state.SUCCESS { color: var(--ok); border-color: var(--ok); }
.state.FAILURE, .state.REVOKED { color: var(--bad); border-color: var(--bad); }
.state.RETRY, .state.PROGRESS, .state.STARTED { color: var(--warn); border-color: var(--warn); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; }
.bar { height: 8px; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; overflow: hidden; width: 200px; display: inline-block; vertical-align: middle; }
.bar > div { height: 100%; background: var(--accent); }
details.legend { grid-column: 1 / -1; color: var(--muted); font-size: 13px; }
details.legend summary { cursor: pointer; }
details.legend li { margin: 2px 0; }
#chart { min-height: 220px; }
.fill { display: contents; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
`;
