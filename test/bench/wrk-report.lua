-- wrk script of `npm run bench:proxy`: prints one JSON line of results, and optionally
-- sends POST bodies (WRK_BODY_BYTES) or holds a fixed request rate (WRK_RATE, req/s).
--
-- The rate: wrk has no fixed-rate mode (wrk2 has, but is not packaged in Debian), so
-- delay() hands out send slots 1/rate apart from one schedule shared by every connection
-- of the thread; a connection that becomes free takes the next slot. Latency is measured
-- by wrk from the moment a request is written until its response ends. A request whose
-- connection is still busy at its slot goes out late, so a stall longer than
-- connections/rate is under-counted (coordinated omission); the achieved rate shows it.

local body_bytes = tonumber(os.getenv("WRK_BODY_BYTES") or "")
if body_bytes ~= nil then
  wrk.method = "POST"
  wrk.body = string.rep("x", body_bytes)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

local rate = tonumber(os.getenv("WRK_RATE") or "")
if rate ~= nil then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } wrk_report_timespec;
    int clock_gettime(int clock_id, wrk_report_timespec *tp);
  ]]
  local now = ffi.new("wrk_report_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, now) -- CLOCK_MONOTONIC
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_slot = nil

  function delay()
    local t = now_ms()
    if next_slot == nil or next_slot < t then next_slot = t end
    local wait = next_slot - t
    next_slot = next_slot + interval
    return math.floor(wait + 0.5)
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_REPORT {"requests":%d,"durationUs":%d,"bytes":%d,"socketErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p99Us":%d,"p999Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect + errors.read + errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
