with {{ period }}
select date(s.join_time, tz_shift()) as day, {{ poor_share }} as poor_pct,
  sum(s.{{ rated }}) as rated
from media_sessions s where 1 {{ session_filters }}
group by day order by day
