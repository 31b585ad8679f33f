-- weight_init.lua — nn.init: in-place initialisers with torch.nn.init's formulas, drawing
-- from loupe's one seeded generator. Each fills its tensor without recording gradients and
-- returns it.
--
--   nn.init.kaiming_normal_(w, {mode = "fan_out", nonlinearity = "relu"})
--   nn.init.uniform_(b, -0.1, 0.1)
--
-- Fans follow PyTorch: for a weight [out, in, k...], fan_in = in * prod(k) and
-- fan_out = out * prod(k).
local loupe = require "loupe"

local M = {}

local function fill(t, values)
  loupe.no_grad(function() t:copy_(values) end)
  return t
end

local function check(t, what)
  if not loupe.is_tensor(t) then error(what .. ": expected a tensor, got " .. type(t), 0) end
end

function M.calculate_fans(t)
  local s = t:shape()
  if #s < 2 then
    error(("init: fan in and fan out need a tensor with at least 2 dimensions, got [%s]"):format(
      table.concat(s, ",")), 0)
  end
  local receptive = 1
  for i = 3, #s do receptive = receptive * s[i] end
  return s[2] * receptive, s[1] * receptive
end

-- torch.nn.init.calculate_gain
function M.calculate_gain(nonlinearity, param)
  if nonlinearity == "linear" or nonlinearity == "sigmoid" or nonlinearity:match("^conv") then
    return 1
  elseif nonlinearity == "tanh" then
    return 5 / 3
  elseif nonlinearity == "relu" then
    return math.sqrt(2)
  elseif nonlinearity == "leaky_relu" then
    local slope = param or 0.01
    return math.sqrt(2 / (1 + slope * slope))
  elseif nonlinearity == "selu" then
    return 3 / 4
  end
  error("calculate_gain: unsupported nonlinearity '" .. tostring(nonlinearity) .. "'", 2)
end

function M.uniform_(t, a, b)
  check(t, "uniform_")
  a, b = a or 0, b or 1
  return fill(t, loupe.rand(t:shape()) * (b - a) + a)
end

function M.normal_(t, mean, std)
  check(t, "normal_")
  mean, std = mean or 0, std or 1
  return fill(t, loupe.randn(t:shape()) * std + mean)
end

function M.constant_(t, v)
  check(t, "constant_")
  loupe.no_grad(function() t:fill_(v) end)
  return t
end

function M.zeros_(t) return M.constant_(t, 0) end
function M.ones_(t) return M.constant_(t, 1) end

-- opts: a (negative slope, default 0), mode ("fan_in" | "fan_out"), nonlinearity
-- (default "leaky_relu"), as torch.nn.init.kaiming_*_.
local function kaiming_std(t, opts, what)
  check(t, what)
  opts = opts or {}
  local fan_in, fan_out = M.calculate_fans(t)
  local mode = opts.mode or "fan_in"
  if mode ~= "fan_in" and mode ~= "fan_out" then
    error(what .. ": mode must be 'fan_in' or 'fan_out', got '" .. tostring(mode) .. "'", 0)
  end
  local gain = M.calculate_gain(opts.nonlinearity or "leaky_relu", opts.a or 0)
  return gain / math.sqrt(mode == "fan_in" and fan_in or fan_out)
end

function M.kaiming_uniform_(t, opts)
  local bound = math.sqrt(3) * kaiming_std(t, opts, "kaiming_uniform_")
  return M.uniform_(t, -bound, bound)
end

function M.kaiming_normal_(t, opts)
  return M.normal_(t, 0, kaiming_std(t, opts, "kaiming_normal_"))
end

function M.xavier_uniform_(t, gain)
  check(t, "xavier_uniform_")
  local fan_in, fan_out = M.calculate_fans(t)
  local bound = (gain or 1) * math.sqrt(6 / (fan_in + fan_out))
  return M.uniform_(t, -bound, bound)
end

function M.xavier_normal_(t, gain)
  check(t, "xavier_normal_")
  local fan_in, fan_out = M.calculate_fans(t)
  return M.normal_(t, 0, (gain or 1) * math.sqrt(2 / (fan_in + fan_out)))
end

-- PyTorch's default for Linear and Conv2d (reset_parameters): weight kaiming_uniform with
-- a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias U(same bound).
function M.default_layer_(weight, bias)
  M.kaiming_uniform_(weight, {a = math.sqrt(5)})
  if bias ~= nil then
    local fan_in = M.calculate_fans(weight)
    local bound = fan_in > 0 and 1 / math.sqrt(fan_in) or 0
    M.uniform_(bias, -bound, bound)
  end
end

-- A fresh parameter: a float32 leaf of the given shape that requires grad (values to be
-- filled by an initialiser).
function M.parameter(shape)
  return loupe.zeros(shape):requires_grad_()
end

return M
