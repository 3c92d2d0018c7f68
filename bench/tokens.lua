-- wrk script for `make bench` scenario (b): every request carries a different
-- valid token.  Tokens come from the file named by BENCH_TOKENS_FILE (one per
-- line).  Thread i of n takes lines i, i+n, i+2n, ... so threads never share a
-- token, pre-formats its requests once in init() (so request() costs the
-- client nothing but a table lookup), and starts at BENCH_TOKENS_START (or a
-- random line) so that consecutive rounds do not replay the tokens the server
-- has just cached.  Each token comes back only after every other token of the
-- thread's share: with >= 10 000 tokens per thread that is far beyond the
-- module's cache (4096 entries by default), so each request is a cache miss.
-- BENCH_TOKENS_REPEAT=n sends each token n times in a row (default 1): with 2,
-- the module's doorkeeper admits every token into the cache on its second
-- request, so every second request is an insert (the RSS run uses that).

local counter = 0

function setup(thread)
   thread:set("thread_id", counter)
   counter = counter + 1
end

function init(args)
   local path = os.getenv("BENCH_TOKENS_FILE")
   assert(path, "BENCH_TOKENS_FILE is not set")
   -- setup() ran in wrk's main Lua state; this thread's state only has the
   -- id it was given, so the thread count comes from the environment.
   local n = tonumber(os.getenv("BENCH_THREADS") or "1")
   local id = thread_id or 0
   local url_path = wrk.path
   reqs = {}
   local i = 0
   for line in io.lines(path) do
      if line ~= "" then
         if i % n == id then
            reqs[#reqs + 1] = wrk.format("GET", url_path,
                                         { ["Authorization"] = "Bearer " .. line })
         end
         i = i + 1
      end
   end
   assert(#reqs > 0, "no tokens in " .. path)
   local start = tonumber(os.getenv("BENCH_TOKENS_START") or "")
   if not start then
      math.randomseed(os.time() * 7919 + id * 104729)
      start = math.random(0, #reqs - 1)
   end
   pos = start % #reqs
   repeat_n = tonumber(os.getenv("BENCH_TOKENS_REPEAT") or "1")
   sent = repeat_n
end

function request()
   if sent >= repeat_n then
      sent = 0
      pos = pos + 1
      if pos > #reqs then pos = 1 end
   end
   sent = sent + 1
   return reqs[pos]
end
