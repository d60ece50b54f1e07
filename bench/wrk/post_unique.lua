-- wrk script: POST a JSON body in which every "{n}" becomes a value unique to the request (also sent as the
-- Idempotency-Key) and every "{score}" an NPS score 0..10 picked from the request counter ((7 * counter) % 11:
-- every score in turn, 7 of 11 requests detractors). Environment: BENCH_PATH, BENCH_BODY, BENCH_RUN (prefix of
-- the unique values), BENCH_TOKEN (a bearer token, optional). done() prints one JSON line that
-- bench/harness.py reads.
local path = os.getenv("BENCH_PATH")
local template = os.getenv("BENCH_BODY")
local run = os.getenv("BENCH_RUN") or "run"
local token = os.getenv("BENCH_TOKEN")
local counter = 0

request = function()
  counter = counter + 1
  local n = run .. "-" .. counter
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = n }
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  local score = tostring((7 * counter) % 11)
  local body = template:gsub("{n}", n):gsub("{score}", score)
  return wrk.format("POST", path, headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50_us": %.1f, "p99_us": %.1f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
