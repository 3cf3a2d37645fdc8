-- wrk script: POST one GraphQL body and count responses that equal an accepted body byte for byte.
--
-- Environment: BENCH_BODY (file with the request body), BENCH_ACCEPTED (file paths of accepted
-- response bodies separated by newlines), BENCH_MISMATCH (path prefix where each thread saves its
-- first wrong response). done() prints one line "BENCH_JSON {...}" with counts and latency.

local threads = {}
local counter = 0

local function read_file(path)
  local handle = assert(io.open(path, "rb"))
  local content = handle:read("*a")
  handle:close()
  return content
end

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.body = read_file(os.getenv("BENCH_BODY"))
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  -- BENCH_HEADERS: extra request headers, one "Name: value" per line (e.g. the caller's token)
  for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:\n]+): ([^\n]*)") do
    wrk.headers[name] = value
  end
  accepted = {}
  for path in string.gmatch(read_file(os.getenv("BENCH_ACCEPTED")), "[^\n]+") do
    accepted[read_file(path)] = true
  end
  correct = 0
  incorrect = 0
  saved = false
end

function response(status, headers, body)
  if status == 200 and accepted[body] then
    correct = correct + 1
  else
    incorrect = incorrect + 1
    if not saved then
      saved = true
      local handle = io.open(os.getenv("BENCH_MISMATCH") .. "-" .. id .. ".txt", "wb")
      if handle then
        handle:write("status " .. status .. "\n" .. (body or ""))
        handle:close()
      end
    end
  end
end

function done(summary, latency, requests)
  local correct_total, incorrect_total = 0, 0
  for _, thread in ipairs(threads) do
    correct_total = correct_total + thread:get("correct")
    incorrect_total = incorrect_total + thread:get("incorrect")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"correct":%d,"incorrect":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, correct_total, incorrect_total,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
