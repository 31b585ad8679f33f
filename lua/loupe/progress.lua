-- progress.lua — loupe.progress: a progress bar for long loops (epochs, batches, t-SNE
-- iterations, feature extraction), in the style of tqdm. Lazily loaded as loupe.progress.
--
--   local p <close> = loupe.progress.new{total = 100, desc = "t-SNE"}
--   for i = 1, 100 do
--     ...
--     p:update(1, {kl = kl})        -- advance by 1; the postfix is optional
--   end
--   p:close()                       -- also done by <close> on errors
--
-- On a terminal: one line redrawn in place, at most every `mininterval` seconds (0.1):
--   kl: 1.721: 45%|█████▍      | 45/100 [00:12<00:15, 3.75it/s]
-- (description and postfix, percentage, bar, count, elapsed<remaining, rate). Otherwise
-- (a file, a pipe, CI) a plain line at most every `plain_interval` seconds (30) and one when
-- the bar closes:
--   kl: 1.721: 45% 45/100 [00:12<00:15, 3.75it/s]
-- LOUPE_PROGRESS=0 in the environment treats every output as a non-terminal.
--
-- Options of new{}: total (nil: unknown, no bar or remaining time), desc, unit ("it"),
-- initial (starting count, e.g. epochs done before a resume; the rate counts from it),
-- file (io.stdout), tty (default: whether file is a terminal), mininterval, plain_interval,
-- leave (true: the last state stays on screen), width (default: the terminal's), ascii
-- (bar of '#' instead of unicode blocks), disable (a bar that prints nothing), clock (a
-- function returning seconds, default loupe.clock; tests pass a fake one).
--
-- The postfix (update's second argument or set_postfix) is a string, a list of {name, value}
-- pairs (kept in order), a table name -> value (sorted by name), or a function returning one
-- of these; it is formatted only when a line is drawn, so passing it costs nothing per call.
--
-- Nested bars (an inner batch bar under an epoch bar) take the next line down while open;
-- an inner bar disappears when closed. loupe.progress.write(line) (and bar:write) prints a
-- line above the open bars without breaking them.
local loupe = require "loupe"

local M = {}

local open_bars = setmetatable({}, {__mode = "k"}) -- open terminal bars -> true

-- ---- formatting (pure functions: tested with fixed numbers) ----

-- "mm:ss", or "h:mm:ss" from an hour on; "?" when unknown.
function M.format_time(s)
  if s == nil or s ~= s or s == math.huge or s < 0 then return "?" end
  s = math.floor(s)
  local h, m, sec = s // 3600, s // 60 % 60, s % 60
  if h > 0 then return ("%d:%02d:%02d"):format(h, m, sec) end
  return ("%02d:%02d"):format(m, sec)
end

local function format_rate(rate, unit)
  if rate == nil then return "?" .. unit .. "/s" end
  if rate >= 1 or rate == 0 then return ("%.2f%s/s"):format(rate, unit) end
  return ("%.2fs/%s"):format(1 / rate, unit)
end

local function format_value(v)
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then
    local a = math.abs(v)
    if v ~= v or a == math.huge then return tostring(v) end
    if a ~= 0 and (a >= 1e5 or a < 1e-3) then return ("%.3g"):format(v) end
    return ("%.3f"):format(v)
  end
  if loupe.is_tensor(v) then return format_value(v:item()) end
  return tostring(v)
end

local function format_count(n)
  if math.type(n) == "integer" or n == math.floor(n) then return ("%d"):format(n) end
  return ("%g"):format(n)
end

-- The postfix as "name: value, name: value" (see the header for the accepted forms).
function M.format_postfix(p)
  if type(p) == "function" then p = p() end
  if p == nil then return "" end
  if type(p) ~= "table" then return tostring(p) end
  local parts = {}
  if p[1] ~= nil then
    for _, pair in ipairs(p) do
      parts[#parts + 1] = pair[1] .. ": " .. format_value(pair[2])
    end
  else
    local names = {}
    for k in pairs(p) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do parts[#parts + 1] = k .. ": " .. format_value(p[k]) end
  end
  return table.concat(parts, ", ")
end

local MIN_BAR = 4
local BLOCKS = {"▏", "▎", "▍", "▌", "▋", "▊", "▉"}

local function draw_bar(frac, w, ascii)
  if ascii then
    local full = math.floor(frac * w)
    return ("#"):rep(full) .. (" "):rep(w - full)
  end
  local eighths = math.floor(frac * w * 8)
  local full, part = eighths // 8, eighths % 8
  local s = ("█"):rep(full)
  if full < w then s = s .. (part > 0 and BLOCKS[part] or " ") .. (" "):rep(w - full - 1) end
  return s
end

local function display_len(s) return utf8.len(s) or #s end

-- Cuts s to at most n display columns, ending in "…" when cut.
local function truncate(s, n)
  if display_len(s) <= n then return s end
  if n <= 0 then return "" end
  return s:sub(1, utf8.offset(s, n) - 1) .. "…"
end

-- One line from a state {n, total, elapsed, desc, postfix (formatted string), unit, rate,
-- width, ascii, plain}. rate: units per second (nil: unknown); plain: no bar.
function M.format(st)
  local unit = st.unit or "it"
  local left = {}
  if st.desc and st.desc ~= "" then left[#left + 1] = st.desc end
  if st.postfix and st.postfix ~= "" then left[#left + 1] = st.postfix end
  local prefix = table.concat(left, ": ")
  local rate, n, total = st.rate, st.n, st.total
  local rate_s = format_rate(rate, unit)
  if not total then
    local line = ("%s %s [%s, %s]"):format(format_count(n), unit, M.format_time(st.elapsed), rate_s)
    return prefix ~= "" and prefix .. ": " .. line or line
  end
  local frac = total > 0 and math.max(0, math.min(1, n / total)) or 1
  local remaining = rate and rate > 0 and (total - n) / rate or (n >= total and 0 or nil)
  local pct = ("%3d%%"):format(math.floor(frac * 100))
  local tail = (" %s/%s [%s<%s, %s]"):format(format_count(n), format_count(total),
    M.format_time(st.elapsed), M.format_time(remaining), rate_s)
  if st.plain then
    return (prefix ~= "" and prefix .. ": " or "") .. pct .. tail
  end
  -- pct|bar|tail, the bar filling the width left (at least MIN_BAR columns: the numbers
  -- matter more), one column spare so the terminal never wraps; a prefix too long is cut.
  local width = st.width or 80
  local fixed = #pct + 2 + display_len(tail)
  local room = width - 1 - fixed - MIN_BAR
  if prefix ~= "" then
    prefix = truncate(prefix, room - 2)
    if prefix ~= "" then prefix = prefix .. ": " end
  end
  local bar_w = math.max(width - 1 - fixed - display_len(prefix), MIN_BAR)
  return prefix .. pct .. "|" .. draw_bar(frac, bar_w, st.ascii) .. "|" .. tail
end

-- ---- the bar object ----

local Bar = {}
Bar.__index = Bar

-- Does file get a redrawn bar? A terminal, unless LOUPE_PROGRESS=0.
function M.is_terminal(file)
  if os.getenv("LOUPE_PROGRESS") == "0" then return false end
  local ok, yes = pcall(loupe.isatty, file)
  return ok and yes
end

function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("progress.new: options must be a table", 2) end
  local total = opts.total
  if total ~= nil and (type(total) ~= "number" or total < 0) then
    error(("progress.new: total must be a non-negative number, got %s"):format(tostring(total)), 2)
  end
  local file = opts.file or io.stdout
  local tty = opts.tty
  if tty == nil then tty = M.is_terminal(file) end
  local clock = opts.clock or loupe.clock
  local initial = opts.initial or 0
  local self = setmetatable({
    n = initial, initial = initial, total = total, desc = opts.desc, unit = opts.unit or "it",
    file = file, tty = tty, clock = clock, leave = opts.leave ~= false, width = opts.width,
    ascii = opts.ascii, off = opts.disable == true, postfix = nil, pos = 0,
    interval = tty and (opts.mininterval or 0.1) or (opts.plain_interval or 30),
  }, Bar)
  self.start = clock()
  self.last_draw = self.start
  self.drawn_n = nil -- the count of the last plain line (no repeated final line)
  if not self.off and tty then
    for b in pairs(open_bars) do
      if b.file == file and b.pos >= self.pos then self.pos = b.pos + 1 end
    end
    open_bars[self] = true
    if self.pos > 0 then self.leave = false end
    self:refresh()
  end
  return self
end

local function term_width(file)
  local ok, w = pcall(loupe.terminal_width, file)
  return ok and w or nil
end

function Bar:state(now)
  local elapsed = (now or self.clock()) - self.start
  local done = self.n - self.initial
  return {
    n = self.n, total = self.total, elapsed = elapsed, desc = self.desc, unit = self.unit,
    postfix = M.format_postfix(self.postfix), rate = elapsed > 0 and done > 0 and done / elapsed or nil,
    width = self.width or (self.tty and term_width(self.file)) or 80, ascii = self.ascii,
    plain = not self.tty,
  }
end

-- Writes the bar's line at its row (pos lines below the cursor's).
function Bar:draw(now)
  local line = M.format(self:state(now))
  local f, pos = self.file, self.pos
  if pos == 0 then
    f:write("\r", line, "\27[K")
  else
    f:write(("\n"):rep(pos), "\r", line, "\27[K", ("\27[A"):rep(pos), "\r")
  end
  f:flush()
end

function Bar:emit(now)
  self.last_draw = now
  if self.tty then
    self:draw(now)
  else
    self.drawn_n = self.n
    self.file:write(M.format(self:state(now)), "\n")
    self.file:flush()
  end
end

-- Advances by k (default 1) and optionally replaces the postfix. Cheap: one clock read; a
-- line is drawn only when the interval has passed.
function Bar:update(k, postfix)
  self.n = self.n + (k or 1)
  if postfix ~= nil then self.postfix = postfix end
  if self.off or self.closed then return end
  local now = self.clock()
  if now - self.last_draw >= self.interval then self:emit(now) end
end

function Bar:set_postfix(postfix) self.postfix = postfix end

function Bar:set_description(desc) self.desc = desc end

-- Draws now (terminal only), whatever the interval.
function Bar:refresh()
  if not self.off and self.tty and not self.closed then self:draw(self.clock()) end
end

-- The final state: drawn and kept (leave) or erased; a plain line unless one was just
-- written for the same count. Idempotent.
function Bar:close()
  if self.closed then return end
  self.closed = true
  if self.off then return end
  local now = self.clock()
  if self.tty then
    open_bars[self] = nil
    local f, pos = self.file, self.pos
    if self.leave then
      self:draw(now)
      f:write("\n")
    elseif pos == 0 then
      f:write("\r\27[K")
    else
      f:write(("\n"):rep(pos), "\r\27[K", ("\27[A"):rep(pos), "\r")
    end
    f:flush()
  elseif self.drawn_n ~= self.n then
    self:emit(now)
  end
end

Bar.__close = Bar.close

function Bar:write(line) M.write(line, self.file) end

-- Prints line (and a newline) to file (default io.stdout) above the open bars on it, which
-- are then drawn again below it.
function M.write(line, file)
  file = file or io.stdout
  local bars = {}
  for b in pairs(open_bars) do if b.file == file then bars[#bars + 1] = b end end
  if #bars > 0 then file:write("\r\27[J") end -- clear the bars' rows
  file:write(tostring(line), "\n")
  table.sort(bars, function(a, b) return a.pos < b.pos end)
  for _, b in ipairs(bars) do b:draw() end
  file:flush()
end

return M
