with {{ period }}
select date(s.join_time, tz_shift()) as day, coalesce(s.verdict, 'unrated') as verdict, count(*) as sessions
from media_sessions s where 1 {{ session_filters }}
group by day, verdict order by day
