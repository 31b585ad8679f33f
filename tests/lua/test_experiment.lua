-- test_experiment.lua — loupe.json (encoding, escaping, decoding, errors) and the experiment
-- helper loupe.experiment (options, quick mode, output folder, metrics.json on success and on
-- errors, figures), plus loupe.mkdir / loupe.write_file / loupe.isatty.
local loupe = require "loupe"
local T = require "testlib"
local json = loupe.json

local host = os.getenv("LOUPE") or "./loupe"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  loupe.mkdir(d)
  return d
end

local function readfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

local tests = {}

-- ---- json ----

function tests.json_scalars()
  T.eq(json.encode(1), "1")
  T.eq(json.encode(-3.0), "-3")
  T.eq(json.encode(0.1), "0.1")
  T.eq(json.encode(1 / 3), "0.33333333333333331")
  T.eq(tonumber(json.encode(1 / 3)), 1 / 3, "round trip")
  T.eq(json.encode(1e300), "1e+300")
  T.eq(json.encode(0 / 0), "null")
  T.eq(json.encode(1 / 0), "null")
  T.eq(json.encode(-1 / 0), "null")
  T.eq(json.encode(true), "true")
  T.eq(json.encode(nil), "null")
  T.eq(json.encode(math.maxinteger), "9223372036854775807")
end

function tests.json_string_escapes()
  T.eq(json.encode('a"b\\c'), '"a\\"b\\\\c"')
  T.eq(json.encode("\n\t\r\b\f"), '"\\n\\t\\r\\b\\f"')
  T.eq(json.encode("\0\1\31"), '"\\u0000\\u0001\\u001f"')
  T.eq(json.encode("é ✓ 😀"), '"é ✓ 😀"', "valid UTF-8 passes through")
  T.eq(json.encode("a\xffb\xc3"), '"a\\u00ffb\\u00c3"', "invalid bytes as \\u00XX")
  T.eq(json.encode("</script>"), '"</script>"')
end

function tests.json_tables()
  T.eq(json.encode({1, 2.5, "x"}), '[1,2.5,"x"]')
  T.eq(json.encode({}), "[]")
  T.eq(json.encode({b = 1, a = {true, false}}), '{"a":[true,false],"b":1}')
  T.eq(json.encode({b = 1, a = 2}, {order = {"b", "a"}}), '{"b":1,"a":2}')
  T.eq(json.encode({a = {1, 2}, b = {c = "d"}}, {indent = 2}),
       '{\n  "a": [1, 2],\n  "b": {\n    "c": "d"\n  }\n}')
  T.eq(json.encode({{1}, {2}}, {indent = 1}), "[\n [1],\n [2]\n]")
  T.eq(json.encode({0 / 0, 1}), "[null,1]")
  T.eq(json.encode(loupe.tensor{{1, 2}, {3, 4}}), "[[1,2],[3,4]]")
  T.eq(json.encode(loupe.tensor(0.5)), "0.5")
end

function tests.json_encode_errors()
  T.raises(function() json.encode({1, x = 2}) end, "keys must be 1..n or strings only")
  T.raises(function() json.encode({[1] = 1, [3] = 3}) end, "keys must be 1..n or strings only")
  T.raises(function() json.encode({[true] = 1}) end, "keys must be 1..n or strings only (key true)")
  local t = {}
  t.self = t
  T.raises(function() json.encode(t) end, "it contains itself")
  T.raises(function() json.encode({f = print}) end, "cannot encode a function (at $.f)")
end

function tests.json_decode()
  local v = json.decode(' {"z": 1, "a": [1, -2.5e3, null, "x\\u00e9\\ud83d\\ude00\\n"], "t": true, "n": null} ')
  T.eq(v.z, 1)
  T.eq(math.type(v.z), "integer")
  T.eq(v.a[2], -2500.0)
  T.eq(v.a[3], json.null)
  T.eq(v.a[4], "xé😀\n")
  T.eq(v.t, true)
  T.eq(v.n, nil)
  T.eq(table.concat(json.keys(v), ","), "z,a,t,n", "document order")
  T.eq(#json.decode("[]"), 0)
  T.eq(next(json.decode("{}")), nil)
  -- round trip through the encoder
  local orig = {name = 'q"uote\1', vals = {1, 0.1, -7}, nested = {deep = {x = false}}}
  local back = json.decode(json.encode(orig, {indent = 2}))
  T.eq(back.name, orig.name)
  T.eq(back.vals[2], 0.1)
  T.eq(back.nested.deep.x, false)
end

function tests.json_decode_errors()
  T.raises(function() json.decode('{"a": 1,}') end, "expected a string key at byte 9")
  T.raises(function() json.decode('[1 2]') end, "expected ',' or ']' at byte 4")
  T.raises(function() json.decode('"abc') end, "unterminated string")
  T.raises(function() json.decode('{"a": 1} x') end, "trailing characters at byte 10")
  T.raises(function() json.decode('') end, "unexpected end of input")
  T.raises(function() json.decode('[nul]') end, "unexpected character at byte 2")
  T.raises(function() json.decode('"a\nb"') end, "control character in a string")
  T.raises(function() json.decode(5) end, "expected a string")
end

-- ---- system helpers ----

function tests.sys_helpers()
  local d = tmpdir()
  loupe.mkdir(d .. "/a/b/c")
  loupe.mkdir(d .. "/a/b/c/") -- existing: fine
  loupe.write_file(d .. "/a/b/c/f.bin", "x\0y")
  T.eq(readfile(d .. "/a/b/c/f.bin"), "x\0y")
  loupe.write_file(d .. "/a/b/c/f.bin", "new")
  T.eq(readfile(d .. "/a/b/c/f.bin"), "new")
  T.raises(function() loupe.mkdir(d .. "/a/b/c/f.bin/g") end, "cannot create the folder")
  T.raises(function() loupe.write_file(d .. "/missing/f", "x") end, "write_file: cannot create a temporary file")
  T.raises(function() loupe.mkdir("") end, "empty folder name")
  T.eq(type(loupe.isatty(io.stdout)), "boolean")
  T.eq(loupe.isatty(io.open(d .. "/a/b/c/f.bin")), false)
  T.raises(function() loupe.isatty("x") end, "expected a file")
  os.execute("rm -rf " .. q(d))
end

-- ---- experiment helper ----

function tests.options_parsing()
  local spec = {options = {dataset = "mnist", epochs = 20, lr = 1e-3, rgb = false, noise = true},
                quick = {epochs = 1}, out = tmpdir()}
  local function new(args)
    spec.args = args
    return loupe.experiment.new("opts", spec)
  end
  local ex = new({[0] = "x.lua"})
  T.eq(ex.opts.dataset, "mnist")
  T.eq(ex.opts.epochs, 20)
  T.eq(ex.quick, os.getenv("LOUPE_QUICK") == "1")
  ex = new({"--dataset", "fashion_mnist", "--epochs=3", "--lr", "0.5", "--rgb", "--no-noise", "pos"})
  T.eq(ex.opts.dataset, "fashion_mnist")
  T.eq(ex.opts.epochs, 3)
  T.eq(math.type(ex.opts.epochs), "integer")
  T.eq(ex.opts.lr, 0.5)
  T.eq(ex.opts.rgb, true)
  T.eq(ex.opts.noise, false)
  T.eq(ex.args[1], "pos")
  ex = new({"--quick"})
  T.eq(ex.quick, true)
  T.eq(ex.opts.epochs, 1, "quick default")
  ex = new({"--quick", "--epochs", "5"})
  T.eq(ex.opts.epochs, 5, "the command line wins over the quick default")
  ex = new({"--rgb=false", "--lr=2"})
  T.eq(ex.opts.rgb, false)
  T.eq(ex.opts.lr, 2)
  T.raises(function() new({"--epochs", "2.5"}) end, "--epochs expects an integer, got '2.5'")
  T.raises(function() new({"--lr", "fast"}) end, "--lr expects a number, got 'fast'")
  T.raises(function() new({"--rgb=maybe"}) end, "--rgb expects true or false")
  T.raises(function() new({"--epochs"}) end, "--epochs needs a value")
  T.raises(function() new({"--bogus", "1"}) end,
           "unknown option '--bogus' (options: --quick, --dataset, --epochs, --lr, --noise, --rgb)")
  T.raises(function() loupe.experiment.new("x", {options = {a = 1}, quick = {b = 2}, args = {}}) end,
           "quick default 'b' is not an option")
  T.raises(function() loupe.experiment.new("x", {options = {a = 1}, quick = {a = "s"}, args = {}}) end,
           "quick default 'a' must have the type of its default (integer)")
  T.raises(function() loupe.experiment.new("../up", {args = {}}) end, "must be a simple file name")
  os.execute("rm -rf " .. q(spec.out))
end

function tests.name_from_script_and_out_folder()
  local d = tmpdir()
  local ex = loupe.experiment.new({args = {[0] = "experiments/eigen_vectors.lua"}, out = d .. "/o/"})
  T.eq(ex.name, "eigen_vectors")
  T.eq(ex.out, d .. "/o")
  local f = io.open(d .. "/o/probe", "w")
  T.truthy(f, "output folder created")
  f:close()
  os.execute("rm -rf " .. q(d))
end

function tests.metrics_and_figures()
  local d = tmpdir()
  local ex = loupe.experiment.new("m", {args = {}, out = d})
  ex:metric("z_first", 1)
  ex:metric("acc", 0.5)
  ex:metric("list", {1, 2, 3})
  ex:metric("nan", 0 / 0)
  ex:metric("t", loupe.tensor{1.5, 2.5})
  ex:metric("acc", 0.75) -- rewriting keeps its place
  T.raises(function() ex:metric("bad", {1, x = 2}) end, "experiment:metric 'bad': json: cannot encode")
  T.raises(function() ex:metric("", 1) end, "non-empty string")
  local path = ex:finish()
  T.eq(path, d .. "/metrics.json")
  local text = readfile(path)
  T.eq(text, '{\n  "z_first": 1,\n  "acc": 0.75,\n  "list": [1, 2, 3],\n  "nan": null,\n  "t": [1.5, 2.5]\n}\n')

  local img = loupe.rand(3, 8, 12)
  T.eq(ex:figure("rand", img), d .. "/rand.png")
  local back = loupe.image.load(d .. "/rand.png")
  T.eq(table.concat(back:shape(), ","), "3,8,12")
  local saved
  ex:figure("plot.svg", {save = function(_, p) saved = p end})
  T.eq(saved, d .. "/plot.svg")
  T.raises(function() ex:figure("x", 42) end, "expected a figure (an object with :save) or a tensor image, got number")
  T.raises(function() ex:figure("a/b", img) end, "the figure name must be a simple file name")
  os.execute("rm -rf " .. q(d))
end

function tests.run_writes_metrics_on_error_and_reraises()
  local d = tmpdir()
  local ex = loupe.experiment.new("e", {args = {}, out = d})
  local ok, err = pcall(ex.run, ex, function(e)
    e:metric("partial", 3)
    error("stopped here")
  end)
  T.eq(ok, false)
  T.truthy(tostring(err):find("stopped here", 1, true), tostring(err))
  T.truthy(tostring(err):find("stack traceback", 1, true), "the traceback of where it failed")
  T.truthy(err.message:find("stopped here$"), err.message)
  T.eq(json.decode(readfile(d .. "/metrics.json")).partial, 3)
  -- success: results pass through
  local ex2 = loupe.experiment.new("e2", {args = {}, out = d .. "/2"})
  local a, b = ex2:run(function() return 1, 2 end)
  T.eq(a + b, 3)
  T.truthy(exists(d .. "/2/metrics.json"))
  os.execute("rm -rf " .. q(d))
end

-- Run directly (`loupe FILE.lua`): output in out/<name>/ under the working folder; with
-- LOUPE_OUT and LOUPE_QUICK from the environment (as `loupe run` sets them).
function tests.direct_run_and_environment()
  local d = tmpdir()
  local cwd = io.popen("pwd"):read("l")
  local abs_host = host:sub(1, 1) == "/" and host or cwd .. "/" .. host
  local fixture = cwd .. "/tests/fixtures/experiments/good.lua"
  local out, code = run(("cd %s && %s %s --size 16"):format(q(d), q(abs_host), q(fixture)))
  T.eq(code, 0, out)
  T.truthy(out:find("good: quick =\tfalse\tsize =\t16", 1, true), out)
  local m = json.decode(readfile(d .. "/out/good/metrics.json"))
  T.eq(m.size, 16)
  T.eq(m.quick, false)
  T.truthy(exists(d .. "/out/good/halves.png") and exists(d .. "/out/good/square.svg"))
  out, code = run(("cd %s && LOUPE_OUT=elsewhere LOUPE_QUICK=1 %s %s"):format(q(d), q(abs_host), q(fixture)))
  T.eq(code, 0, out)
  m = json.decode(readfile(d .. "/elsewhere/metrics.json"))
  T.eq(m.quick, true)
  T.eq(m.size, 32)
  out, code = run(("cd %s && %s %s --help"):format(q(d), q(abs_host), q(fixture)))
  T.eq(code, 0)
  T.truthy(out:find("--size", 1, true) and out:find("usage: loupe good.lua", 1, true), out)
  os.execute("rm -rf " .. q(d))
end

return tests
