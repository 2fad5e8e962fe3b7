-- wrk script for every HTTP benchmark, so the app and its baseline are driven
-- alike. `wrk ... -s bench/wrk.lua URL -- register` POSTs a registration with
-- a unique email per request (`-- register TAG` makes the addresses of this
-- run differ from those of an earlier run against the same database);
-- without the argument it sends plain GETs. `-- register TAG spread` also
-- sends each registration from an address of its own (X-Forwarded-For, for
-- an app behind one trusted proxy), as participants in many places do.
-- done() prints rate, latency percentiles and failures as one JSON line.
-- `id` is not declared local: setup() gives each thread its own through
-- thread:set, which writes the thread's global; a local would shadow it and
-- make every thread send the same addresses.
local threads = {}
local counter = 0
local register = false
local tag = ""
local spread = false

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  register = args[1] == "register"
  tag = args[2] or ""
  spread = args[3] == "spread"
  id = id or 0
end

function request()
  if not register then
    return wrk.format("GET")
  end
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench %d-%d","email":"bench%s-%d-%d@example.org","country":"SG","timezone":"Asia/Singapore"}',
    id, counter, tag, id, counter)
  local headers = {["Content-Type"] = "application/json"}
  if spread then
    headers["X-Forwarded-For"] = string.format(
      "10.%d.%d.%d", id % 250, math.floor(counter / 250) % 250, counter % 250 + 1)
  end
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"http_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
