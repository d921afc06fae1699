-- wrk script: GET /v1/persons/u<random id> with the read key from $RK.
-- N_PERSONS bounds the ids (bench/scoring/gen.c names persons u1..uN).
local rk = os.getenv("RK")
local n = tonumber(os.getenv("N_PERSONS") or "1000000")

function setup(thread)
  thread:set("seed", math.random(1, 1e9))
end

function init(args)
  math.randomseed(seed or 42)
  wrk.headers["Authorization"] = "Bearer " .. rk
end

function request()
  return wrk.format("GET", "/v1/persons/u" .. math.random(1, n))
end

-- Non-200 answers would make the latency meaningless: count them.
local bad = 0
function response(status)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx (wrk): %d\n", summary.errors.status))
  io.write(string.format("latency (ms): p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f mean %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000))
end
