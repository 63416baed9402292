-- wrk script: PUT /v1/kv/bench-<thread>-<n> with a 100-byte value, a new key every request.
--   wrk -t2 -c64 -d10s -s benchmarks/wrk_put.lua http://127.0.0.1:8000
local counter = 0
local thread_id = 0
local value = string.rep("v", 100)
-- Strata refuses a body without a JSON or octet-stream Content-Type (415, browser safety).
local headers = {["Content-Type"] = "application/octet-stream"}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  thread_id = id or 0
  n = 0
end

function request()
  n = n + 1
  return wrk.format("PUT", "/v1/kv/bench-" .. thread_id .. "-" .. n, headers, value)
end
