select started_at, h(account) as account, outcome, meetings_new, quality_calls, samples_written, rate_limited,
  errors, duration_ms, h(message) as message
from collector_runs order by id desc limit 10
