-- wrk script for ServeBench: POST /embed with short sentences in turn (TEI's body shape), then one
-- `name<TAB>value` line per figure: requests/s, p50 and p99 latency (ms), errors (non-2xx and socket errors).
local sentences = {
  "A man is eating food.", "A man is riding a horse.", "The new movie is awesome.",
  "The cat sits outside.", "A woman is playing the violin.", "Two men pushed carts through the woods.",
  "The weather is lovely today.", "He drove to the stadium.",
}
local index = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  index = index % #sentences + 1
  return wrk.format(nil, nil, nil, '{"inputs": "' .. sentences[index] .. '"}')
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("requests_per_second\t%.2f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50_ms\t%.3f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms\t%.3f\n", latency:percentile(99) / 1000))
  io.write(string.format("errors\t%d\n", errors))
end
