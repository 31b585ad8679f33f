-- report.lua — loupe.report: the batch runner's report, out/<run>/index.html, and its
-- machine-readable twin out/<run>/summary.json. Called by `loupe run` (src/host/runner.c)
-- before and after each experiment, so a long run can be watched.
--
--   loupe.report.write(run_dir, {
--     title = "run-2026-11-23T01-20-00", started = "2026-11-23 01:20:00",
--     command = "loupe run --quick", version = "loupe 0.1.0 (Lua 5.4.6)", quick = true,
--     seconds = 12.5,                                  -- the run so far
--     experiments = {
--       {name = "eigenvectors", file = "experiments/eigenvectors.lua",
--        status = "ok" | "failed" | "running" | "pending" | "skipped",
--        detail = "exit status 3", seconds = 4.2,
--        figures = {"spectrum.png", ...}},             -- files in run_dir/<name>/, in order
--     }})
--
-- Each experiment's metrics come from run_dir/<name>/metrics.json and, when it failed, the
-- tail of run_dir/<name>/log.txt is shown. The page is one self-contained HTML file with
-- inline CSS, no scripts and only relative links (name/figure.png), so the run folder can be
-- copied elsewhere and opened offline. Both files are written atomically.
local loupe = require "loupe"
local json = require "loupe.json"

local M = {}

local LOG_TAIL_LINES = 40
local LOG_TAIL_BYTES = 64 * 1024
local SUMMARY_METRICS = 3 -- scalar metrics shown per row of the summary table
local LIST_PREVIEW = 8    -- values of a list shown before "…"

local function html(s)
  return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                        ['"'] = "&quot;", ["'"] = "&#39;"}))
end

-- Percent-encodes a relative path for href/src, keeping '/' between segments.
local function url(path)
  return (path:gsub("[^%w%-%._~/]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function format_seconds(s)
  if type(s) ~= "number" then return "" end
  if s < 10 then return ("%.2f s"):format(s) end
  if s < 60 then return ("%.1f s"):format(s) end
  if s < 3600 then return ("%d min %02d s"):format(s // 60, math.floor(s % 60)) end
  return ("%d h %02d min"):format(s // 3600, math.floor(s % 3600 / 60))
end

local function format_number(x)
  if math.type(x) == "integer" then return tostring(x) end
  if x ~= x then return "NaN" end
  if x == math.floor(x) and math.abs(x) < 1e15 then return ("%d"):format(x) end
  return ("%.5g"):format(x)
end

local function is_scalar(v)
  local t = type(v)
  return t == "number" or t == "string" or t == "boolean" or v == json.null
end

local function format_scalar(v)
  if v == json.null then return "null" end
  if type(v) == "number" then return format_number(v) end
  return tostring(v)
end

local function is_list(v)
  return type(v) == "table" and v ~= json.null and (v[1] ~= nil or next(v) == nil)
end

local function format_list(v)
  local parts = {}
  for i = 1, math.min(#v, LIST_PREVIEW) do
    parts[i] = is_scalar(v[i]) and format_scalar(v[i]) or (is_list(v[i]) and ("[%d]"):format(#v[i]) or "{…}")
  end
  local s = "[" .. table.concat(parts, ", ") .. (#v > LIST_PREVIEW and ", …" or "") .. "]"
  if #v > LIST_PREVIEW then s = s .. (" (%d values)"):format(#v) end
  return s
end

-- Metrics as rows {name, text}: objects are flattened with '.' between the keys.
local function metric_rows(metrics)
  local rows = {}
  local function add(name, v)
    if is_scalar(v) then
      rows[#rows + 1] = {name, format_scalar(v), scalar = true, number = type(v) == "number"}
    elseif is_list(v) then
      rows[#rows + 1] = {name, format_list(v)}
    else
      for _, k in ipairs(json.keys(v)) do add(name .. "." .. k, v[k] == nil and json.null or v[k]) end
    end
  end
  for _, k in ipairs(json.keys(metrics)) do add(k, metrics[k] == nil and json.null or metrics[k]) end
  return rows
end

-- metrics.json of an experiment: its table, or nil and a note.
local function load_metrics(dir)
  local s = read_file(dir .. "/metrics.json")
  if not s then return nil end
  local ok, v = pcall(json.decode, s)
  if not ok then return nil, "metrics.json could not be read: " .. tostring(v) end
  if type(v) ~= "table" or is_list(v) and next(v) ~= nil then
    return nil, "metrics.json does not hold an object"
  end
  return v
end

-- The last lines of a log, as a terminal would show them: a '\r' restarts its line and
-- ANSI escape sequences are dropped.
local function log_tail(path, n)
  local f = io.open(path, "rb")
  if not f then return nil end
  local size = f:seek("end")
  f:seek("set", math.max(0, size - LOG_TAIL_BYTES)) -- a huge log is not read whole
  local s = f:read("a")
  f:close()
  if size > LOG_TAIL_BYTES then s = s:gsub("^[^\n]*\n", "") end
  s = s:gsub("\27%[[%d;?]*[%a]", "")
  local lines = {}
  for line in (s:gsub("\n$", "") .. "\n"):gmatch("(.-)\n") do
    lines[#lines + 1] = line:match("([^\r]*)\r*$")
  end
  local first = math.max(1, #lines - n + 1)
  return table.concat(lines, "\n", first, #lines), first > 1
end

local CSS = [[
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1f2328;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:0;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h3{font-size:14px;margin:18px 0 6px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
a{color:#0a58ca;text-decoration:none}
a:hover{text-decoration:underline}
.meta{color:#57606a;margin:0 0 20px}
.meta span+span:before{content:" · "}
table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 12px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#eef1f4;font-weight:600;font-size:13px;color:#3d444d}
td.num{text-align:right;white-space:nowrap}
.summary{width:100%;border:1px solid #d8dde3;border-radius:8px;overflow:hidden;margin-bottom:28px}
.summary tr:last-child td{border-bottom:0}
.metrics{border:1px solid #d8dde3;min-width:320px}
.metrics td:first-child{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;letter-spacing:.03em;text-transform:uppercase}
.ok{background:#dafbe1;color:#116329}
.failed{background:#ffebe9;color:#a40e26}
.pending,.running,.skipped{background:#eaeef2;color:#57606a}
section{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:18px 22px;margin:0 0 22px}
section.is-failed{border-left:4px solid #cf222e}
section.is-ok{border-left:4px solid #2da44e}
.sub{color:#57606a;font-size:13px;margin:2px 0 0}
.sub span+span:before{content:" · "}
pre{background:#1f2328;color:#e6edf3;padding:12px 14px;border-radius:6px;overflow:auto;font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;max-height:480px;white-space:pre-wrap;word-break:break-word}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:16px}
figure{margin:0;border:1px solid #e4e7eb;border-radius:6px;padding:8px;background:#fff}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:13px;color:#57606a;margin-top:6px;text-align:center;word-break:break-all}
.none{color:#8c959f;font-style:italic}
.detail{color:#57606a;font-size:12px}
.files{font-size:13px}
]]

local function badge(status)
  return ('<span class="badge %s">%s</span>'):format(html(status), html(status))
end

local function anchor(name) return "exp-" .. name:gsub("[^%w%-_]", "-") end

local function summary_metrics(rows)
  local parts = {}
  for _, r in ipairs(rows) do
    if r.scalar then
      parts[#parts + 1] = ("%s&nbsp;<b>%s</b>"):format(html(r[1]), html(r[2]))
      if #parts == SUMMARY_METRICS then break end
    end
  end
  local more = 0
  for _, r in ipairs(rows) do if r.scalar then more = more + 1 end end
  local s = table.concat(parts, ", ")
  if more > #parts then s = s .. ", …" end
  return s
end

local function section(out, run_dir, e, info)
  local dir = run_dir .. "/" .. e.name
  out[#out + 1] = ('<section id="%s" class="is-%s">'):format(anchor(e.name), html(e.status))
  out[#out + 1] = ("<h2>%s %s</h2>"):format(html(e.name), badge(e.status))
  local sub = {("<span>%s</span>"):format(html(e.file or ""))}
  if e.seconds then sub[#sub + 1] = ("<span>%s</span>"):format(format_seconds(e.seconds)) end
  if e.detail and e.detail ~= "" then sub[#sub + 1] = ("<span>%s</span>"):format(html(e.detail)) end
  if info.log_exists then
    sub[#sub + 1] = ('<span><a href="%s">log</a></span>'):format(url(e.name .. "/log.txt"))
  end
  out[#out + 1] = '<p class="sub">' .. table.concat(sub) .. "</p>"

  if e.status == "failed" then
    local tail, cut = log_tail(dir .. "/log.txt", LOG_TAIL_LINES)
    out[#out + 1] = ("<h3>Log%s</h3>"):format(cut and (" (last %d lines)"):format(LOG_TAIL_LINES) or "")
    out[#out + 1] = tail and tail ~= "" and ("<pre>%s</pre>"):format(html(tail))
                    or '<p class="none">no output</p>'
  end

  if info.rows and #info.rows > 0 then
    out[#out + 1] = "<h3>Metrics</h3>"
    out[#out + 1] = '<table class="metrics"><tr><th>metric</th><th>value</th></tr>'
    for _, r in ipairs(info.rows) do
      out[#out + 1] = ('<tr><td>%s</td><td%s>%s</td></tr>'):format(
        html(r[1]), r.number and ' class="num"' or "", html(r[2]))
    end
    out[#out + 1] = "</table>"
  elseif info.note then
    out[#out + 1] = ('<p class="none">%s</p>'):format(html(info.note))
  end

  local images, others = {}, {}
  for _, f in ipairs(e.figures or {}) do
    if f:match("%.[pP][nN][gG]$") or f:match("%.[sS][vV][gG]$") then images[#images + 1] = f
    else others[#others + 1] = f end
  end
  if #images > 0 then
    out[#out + 1] = "<h3>Figures</h3>"
    out[#out + 1] = '<div class="figures">'
    for _, f in ipairs(images) do
      local rel = url(e.name .. "/" .. f)
      out[#out + 1] = ('<figure><a href="%s"><img src="%s" alt="%s" loading="lazy"></a><figcaption>%s</figcaption></figure>')
        :format(rel, rel, html(f), html(f))
    end
    out[#out + 1] = "</div>"
  end
  if #others > 0 then
    local links = {}
    for _, f in ipairs(others) do
      links[#links + 1] = ('<a href="%s">%s</a>'):format(url(e.name .. "/" .. f), html(f))
    end
    out[#out + 1] = '<p class="files">Other files: ' .. table.concat(links, ", ") .. "</p>"
  end
  out[#out + 1] = "</section>"
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The HTML page as a string (see the header for `run`).
function M.html(run_dir, run)
  local exps = run.experiments or {}
  local infos, counts = {}, {}
  for i, e in ipairs(exps) do
    local metrics, note = load_metrics(run_dir .. "/" .. e.name)
    infos[i] = {rows = metrics and metric_rows(metrics), note = note,
                log_exists = exists(run_dir .. "/" .. e.name .. "/log.txt")}
    counts[e.status] = (counts[e.status] or 0) + 1
  end
  local out = {}
  out[#out + 1] = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">'
  out[#out + 1] = '<meta name="viewport" content="width=device-width, initial-scale=1">'
  out[#out + 1] = ("<title>%s — loupe</title>"):format(html(run.title or "loupe run"))
  out[#out + 1] = "<style>\n" .. CSS .. "</style>\n</head>\n<body>\n<main>"
  out[#out + 1] = ("<h1>loupe run · %s</h1>"):format(html(run.title or ""))
  local tally = {}
  for _, s in ipairs{"ok", "failed", "running", "pending", "skipped"} do
    if counts[s] then tally[#tally + 1] = ("%d %s"):format(counts[s], s) end
  end
  local meta = {("%d experiment%s: %s"):format(#exps, #exps == 1 and "" or "s", table.concat(tally, ", "))}
  if run.started then meta[#meta + 1] = "started " .. run.started end
  if run.seconds then meta[#meta + 1] = format_seconds(run.seconds) end
  if run.quick then meta[#meta + 1] = "quick mode" end
  if run.command then meta[#meta + 1] = run.command end
  if run.version then meta[#meta + 1] = run.version end
  local metaline = {}
  for i, m in ipairs(meta) do metaline[i] = "<span>" .. html(m) .. "</span>" end
  out[#out + 1] = '<p class="meta">' .. table.concat(metaline) .. "</p>"

  out[#out + 1] = '<table class="summary"><tr><th>experiment</th><th>status</th><th>time</th><th>metrics</th><th>figures</th></tr>'
  for i, e in ipairs(exps) do
    local nfig = 0
    for _ in ipairs(e.figures or {}) do nfig = nfig + 1 end
    local status = badge(e.status)
    if e.detail and e.detail ~= "" then status = status .. ' <span class="detail">' .. html(e.detail) .. "</span>" end
    out[#out + 1] = ('<tr><td><a href="#%s">%s</a></td><td>%s</td><td class="num">%s</td><td>%s</td><td class="num">%s</td></tr>')
      :format(anchor(e.name), html(e.name), status, format_seconds(e.seconds),
              infos[i].rows and summary_metrics(infos[i].rows) or "", nfig > 0 and nfig or "")
  end
  out[#out + 1] = "</table>"
  for i, e in ipairs(exps) do section(out, run_dir, e, infos[i]) end
  out[#out + 1] = "</main>\n</body>\n</html>\n"
  return table.concat(out, "\n")
end

-- summary.json: the run's record for tools (the same fields as `run`, metrics included).
function M.summary(run_dir, run)
  local exps = {}
  for i, e in ipairs(run.experiments or {}) do
    exps[i] = {name = e.name, file = e.file, status = e.status, detail = e.detail,
               seconds = e.seconds, figures = e.figures or {},
               metrics = (load_metrics(run_dir .. "/" .. e.name))}
  end
  return json.encode({title = run.title, started = run.started, command = run.command,
                      quick = run.quick == true, seconds = run.seconds, experiments = exps},
                     {indent = 2, order = {"title", "started", "command", "quick", "seconds", "experiments"}})
end

-- Writes run_dir/index.html and run_dir/summary.json; returns the page's path.
function M.write(run_dir, run)
  loupe.write_file(run_dir .. "/summary.json", M.summary(run_dir, run) .. "\n")
  local path = run_dir .. "/index.html"
  loupe.write_file(path, M.html(run_dir, run))
  return path
end

return M
