select started_at, account, outcome, quality_calls, samples_written from collector_runs
order by id desc limit 500
