select id, account, title, start, "end", quality_state, quality_due_at, quality_called_at, quality_error,
  expires_at
from meetings
where quality_state in ('pending', 'partial', 'recheck')
order by expires_at limit 1000
