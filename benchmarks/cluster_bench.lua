-- wrk script for benchmarks/cluster_bench: 16-byte keys, 100-byte values, against Strata's native
-- API or etcd 3.4's JSON gateway. Parameters come from the environment:
--   BENCH_TARGET = strata | etcd      BENCH_OP = put | get      BENCH_KEYS = keys preloaded (get)
-- put: a new key per request ("p" + thread + counter, 16 bytes); get: a random preloaded key
-- ("k" + 15 digits). etcd's range requests are linearizable by default, as are Strata's GETs.
local target = os.getenv("BENCH_TARGET") or "strata"
local op = os.getenv("BENCH_OP") or "put"
local nkeys = tonumber(os.getenv("BENCH_KEYS") or "10000")
local value = string.rep("v", 100)
local counter = 0

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({"", "==", "="})[#data % 3 + 1])
end
local value64 = b64(value)

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  n = 0
  math.randomseed(os.time() + (tid or 0) * 7919)
end

function request()
  n = n + 1
  local key
  if op == "put" then
    key = string.format("p%02d%013d", tid or 0, n)
  else
    key = string.format("k%015d", math.random(0, nkeys - 1))
  end
  if target == "strata" then
    -- Strata refuses a body without a JSON or octet-stream Content-Type (415, browser safety).
    if op == "put" then return wrk.format("PUT", "/v1/kv/" .. key, {["Content-Type"] = "application/octet-stream"}, value) end
    return wrk.format("GET", "/v1/kv/" .. key)
  end
  if op == "put" then
    return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"},
                      '{"key":"' .. b64(key) .. '","value":"' .. value64 .. '"}')
  end
  return wrk.format("POST", "/v3/kv/range", {["Content-Type"] = "application/json"}, '{"key":"' .. b64(key) .. '"}')
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx_or_error=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status + summary.errors.timeout))
end
